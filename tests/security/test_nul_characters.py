"""A NUL character in an address or a form is refused with a page that says so, and nothing is saved."""

from __future__ import annotations

import re

import pytest
from sqlmodel import func, select
from webkit import csrf_token, login

from sipflow.cases.models import SipCase
from sipflow.meetings.ical import ReplyError, parse_reply


def test_a_nul_in_a_form_is_refused_at_its_field_with_the_rest_kept(client, parties, db_session):
    """Pasted text with a NUL: the form again, the error next to the field, what was typed kept."""
    assert login(client, parties.region_user.username).status_code == 302
    page = client.get("/cases/new")
    response = client.post(
        "/cases/new",
        data={
            "csrf_token": csrf_token(page.get_data(as_text=True)),
            "workflow_name": "sip",
            "id_kind": "personnummer",
            "identifier": "19121212-1212",
            "given_name": "Nul\x00Person",
            "family_name": "Persson",
            "home_municipality_code": "0780",
            "unit_ids": str(parties.municipality.id),
        },
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    errors = re.findall(r'<ul class="field-errors" id="([^"]+)-error">\s*<li>([^<]+)</li>', html)
    assert errors == [("given_name", "Texten innehåller ett tecken som inte kan sparas.")]
    assert 'name="given_name" required type="text" value="NulPerson"' in html  # the NUL taken out
    assert 'value="Persson"' in html and 'value="19121212-1212"' in html
    assert db_session.exec(select(func.count()).select_from(SipCase)).one() == 0


def test_a_nul_in_a_form_of_a_json_address_is_refused_as_json(client):
    response = client.post("/healthz", data={"probe": "a\x00b"})
    assert response.status_code == 400 and response.is_json
    assert response.get_json() == {"error": "nul", "reason": NUL_REASON}


def test_a_nul_in_a_field_name_is_refused(client, parties):
    assert login(client, parties.region_user.username).status_code == 302
    page = client.get("/cases/new")
    data = {"csrf_token": csrf_token(page.get_data(as_text=True)), "given\x00name": "Kim"}
    response = client.post("/cases/new", data=data)
    assert response.status_code == 400 and "NUL" in response.get_data(as_text=True)


def test_a_nul_in_the_address_or_query_is_refused(client, parties):
    assert client.get("/login?next=/%00/evil.example").status_code == 400
    assert login(client, parties.region_user.username).status_code == 302
    assert client.get("/cases/a%00b").status_code == 400
    assert client.get("/cases/?state=a%00").status_code == 400


@pytest.mark.parametrize("field", ["id_kind", "given_name"])
def test_a_nul_in_any_field_of_a_form_is_refused(client, parties, db_session, field):
    assert login(client, parties.region_user.username).status_code == 302
    page = client.get("/cases/new")
    data = {
        "csrf_token": csrf_token(page.get_data(as_text=True)),
        "workflow_name": "sip",
        "id_kind": "personnummer",
        "identifier": "19840309-5129",
        "given_name": "Kim",
        "family_name": "Person",
        "home_municipality_code": "0780",
        "unit_ids": str(parties.municipality.id),
    }
    data[field] = "\x00"
    assert client.post("/cases/new", data=data).status_code == 400
    assert db_session.exec(select(func.count()).select_from(SipCase)).one() == 0


def test_a_calendar_reply_with_a_nul_is_refused_with_a_reason():
    reply = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\nMETHOD:REPLY\r\nBEGIN:VEVENT\r\n"
        "UID:abc\x00def\r\nDTSTAMP:20261102T090000Z\r\n"
        "ATTENDEE;PARTSTAT=ACCEPTED:mailto:eva@example.se\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    with pytest.raises(ReplyError) as refused:
        parse_reply(reply)
    assert refused.value.code == "nul"


NUL_REASON = "Anropet innehöll ett NUL-tecken, som inte kan sparas. Ta bort det och försök igen."


@pytest.mark.parametrize("field", ["municipality", "from", "to", "by", "code", "county", "compare_years"])
def test_a_nul_in_a_statistics_json_filter_is_refused_as_json(client, make_user, field):
    make_user(None, "coordinator", "kerstin-nul")
    assert login(client, "kerstin-nul").status_code == 302
    response = client.get("/statistik/indikatorer.json", query_string={field: "\x00"})
    assert response.status_code == 400 and response.is_json
    assert response.get_json() == {"error": "nul", "reason": NUL_REASON}
    page = client.get("/statistik/", query_string={field: "\x00"})
    assert page.status_code == 400 and not page.is_json and "NUL" in page.get_data(as_text=True)


def test_a_nul_in_the_address_of_the_other_json_addresses_is_refused_as_json(client):
    for response in (
        client.post("/itip/reply?uid=%00", data=b"BEGIN:VCALENDAR", content_type="text/calendar"),
        client.get("/healthz?probe=%00"),
        client.get("/statistik/indikatorer.json?from=%00"),  # not logged in: the NUL is refused first
    ):
        assert response.status_code == 400 and response.is_json
        assert response.get_json() == {"error": "nul", "reason": NUL_REASON}
    english = client.get("/healthz?probe=%00&lang=en").get_json()
    assert (
        english["reason"]
        == "The request held a NUL character, which cannot be saved. Remove it and try again."
    )


def test_a_nul_in_the_person_filter_is_refused_beside_the_field(client, parties):
    """The Mina SIP person filter reads its field without a form class: the same refusal, beside it."""
    assert login(client, parties.region_user.username).status_code == 302
    page = client.get("/cases").get_data(as_text=True)
    response = client.post(
        "/person-filter", data={"csrf_token": csrf_token(page), "identifier": "19121212-\x001212"}
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and "Location" not in response.headers
    assert 'id="filter-person-error"' in html and "Texten innehåller ett tecken som inte kan sparas." in html
    assert 'value="19121212-1212"' in html
