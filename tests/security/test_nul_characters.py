"""A NUL character in an address or a form is refused with a page that says so, and nothing is saved."""

from __future__ import annotations

import pytest
from sqlmodel import func, select
from webkit import csrf_token, login

from sipflow.cases.models import SipCase
from sipflow.meetings.ical import ReplyError, parse_reply


def test_a_nul_in_a_form_is_refused_and_nothing_is_saved(client, parties, db_session):
    assert login(client, parties.region_user.username).status_code == 302
    page = client.get("/cases/new")
    response = client.post(
        "/cases/new",
        data={
            "csrf_token": csrf_token(page.get_data(as_text=True)),
            "workflow_name": "sip",
            "id_kind": "personnummer",
            "identifier": "19840309-5129",
            "given_name": "Nul\x00Person",
            "family_name": "Person",
            "home_municipality_code": "0780",
            "unit_ids": str(parties.municipality.id),
        },
    )
    assert response.status_code == 400
    assert "NUL" in response.get_data(as_text=True)
    assert db_session.exec(select(func.count()).select_from(SipCase)).one() == 0


def test_a_nul_in_the_address_or_query_is_refused(client, parties):
    assert client.get("/login?next=/%00/evil.example").status_code == 400
    assert login(client, parties.region_user.username).status_code == 302
    assert client.get("/cases/a%00b").status_code == 400
    assert client.get("/cases/?state=a%00").status_code == 400


@pytest.mark.parametrize("field", ["id_kind", "given_name"])
def test_a_nul_in_any_field_of_a_form_is_refused_before_the_form_reads_it(client, parties, db_session, field):
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
