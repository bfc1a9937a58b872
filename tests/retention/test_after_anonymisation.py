"""After retention anonymised a person and their cases nothing writes personal data back: the particulars
are changed by nobody (the case page, the administrator), and a meeting's KVÅ codes take no new typed
reason (retention never clears a case twice, so what is written after it would stay for ever)."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select
from test_anonymise import coded_meeting_fields, ended_case, policy, reload, run  # noqa: F401  (fixtures)
from webkit import fill, forms_of, login, spoken, text_of

from sipflow.clock import now_utc, to_local
from sipflow.coding.models import CodeRecord
from sipflow.meetings.models import Meeting
from sipflow.people.models import Person
from sipflow.retention.anonymise import ANONYMOUS_FAMILY_NAME, ANONYMOUS_GIVEN_NAME
from sipflow.security import audit
from sipflow.security.access import may_change_person

VAXJO = "0780"


def _anonymised(db_session, ended_case, policy, now):  # noqa: F811
    case = ended_case("closed")
    assert run(db_session, policy, now) == 1
    person = reload(db_session, Person, case.person_id)
    assert person.given_name == ANONYMOUS_GIVEN_NAME
    return case, person


def test_nobody_may_change_an_anonymised_persons_particulars(
    db_session,
    ended_case,  # noqa: F811
    policy,  # noqa: F811
    now,
    parties,
    make_user,
):
    case, person = _anonymised(db_session, ended_case, policy, now)
    admin = make_user(None, roles="admin")
    # The region's staff registered the person (started their first SIP): they may change a kept person.
    for user in (parties.region_user, admin):
        assert not may_change_person(db_session, user, person, now=now_utc())


def test_the_case_page_offers_no_change_of_an_anonymised_person_and_refuses_one(
    client,
    db_session,
    ended_case,  # noqa: F811
    policy,  # noqa: F811
    now,
    parties,
):
    case, person = _anonymised(db_session, ended_case, policy, now)
    assert login(client, parties.region_user.username).status_code == 302
    url = f"/cases/{case.uid}/person"
    assert f'href="{url}"' not in text_of(client.get(f"/cases/{case.uid}"))
    assert client.get(url).status_code == 403
    token = forms_of(text_of(client.get(f"/cases/{case.uid}")))["/logout"][0][1]
    data = {
        "csrf_token": token,
        "given_name": "Testa",
        "family_name": "Person",
        "home_municipality_code": VAXJO,
    }
    assert client.post(url, data=data).status_code == 403
    person = reload(db_session, Person, person.id)
    assert (person.given_name, person.family_name) == (ANONYMOUS_GIVEN_NAME, ANONYMOUS_FAMILY_NAME)
    changes = db_session.exec(
        select(audit.AccessLogEntry).where(audit.AccessLogEntry.action == audit.PERSON_CHANGE)
    ).all()
    assert changes == []


def test_the_case_page_says_when_retention_anonymised_the_sip(
    client,
    db_session,
    ended_case,  # noqa: F811
    policy,  # noqa: F811
    now,
    parties,
):
    """Its empty fields are not lost: the page says retention cleared them, and when; a relative whose name
    it cleared is named by their part, not as "None"."""
    case, _person = _anonymised(db_session, ended_case, policy, now)
    running = ended_case("closed", now - timedelta(days=30))
    assert login(client, parties.region_user.username).status_code == 302
    page = spoken(text_of(client.get(f"/cases/{case.uid}?lang=en")))
    assert f"Anonymised by retention on {to_local(now).date().isoformat()}." in page
    assert "What the statistics count is kept." in page
    assert "None" not in page
    assert "Attendance: – (relative) (Video)" in page
    swedish = spoken(text_of(client.get(f"/cases/{case.uid}?lang=sv")))
    assert f"Anonymiserad vid gallring den {to_local(now).date().isoformat()}." in swedish
    # A SIP whose retention has not run out says nothing of it.
    kept = spoken(text_of(client.get(f"/cases/{running.uid}?lang=en")))
    assert "Anonymised by retention" not in kept
    assert "Birgitta Svensson (relative)" in kept


def test_the_case_page_of_an_anonymised_sip_whose_person_is_kept_does_not_say_their_name_went(
    client,
    db_session,
    ended_case,  # noqa: F811
    policy,  # noqa: F811
    now,
    parties,
):
    """A person with another SIP still kept keeps their name and identifier when an old SIP of theirs is
    anonymised: its page, which shows them, must not say they were cleared."""
    old = ended_case("closed")
    person = reload(db_session, Person, old.person_id)
    ended_case("closed", now - timedelta(days=30), person=person)
    assert run(db_session, policy, now) == 1
    person = reload(db_session, Person, person.id)
    assert person.given_name != ANONYMOUS_GIVEN_NAME
    assert login(client, parties.region_user.username).status_code == 302
    page = spoken(text_of(client.get(f"/cases/{old.uid}?lang=en")))
    assert f"Anonymised by retention on {to_local(now).date().isoformat()}." in page
    assert f"{person.given_name} {person.family_name}" in page
    assert "the person's name and identifier" not in page
    assert "The person's name and identifier stay while another SIP of theirs is kept." in page
    swedish = spoken(text_of(client.get(f"/cases/{old.uid}?lang=sv")))
    assert "personens namn och identitetsnummer," not in swedish
    kept = "Personens namn och identitetsnummer finns kvar så länge en annan SIP för personen sparas."
    assert kept in swedish


def test_the_case_page_shows_an_anonymised_persons_birth_year_not_a_cut_date(
    client,
    db_session,
    ended_case,  # noqa: F811
    policy,  # noqa: F811
    now,
    parties,
):
    """Retention keeps the birth year only (the date becomes 1 January): not shown as a day of birth."""
    case, person = _anonymised(db_session, ended_case, policy, now)
    assert person.birth_date is not None and (person.birth_date.month, person.birth_date.day) == (1, 1)
    running = ended_case("closed", now - timedelta(days=30))
    assert login(client, parties.region_user.username).status_code == 302
    page = spoken(text_of(client.get(f"/cases/{case.uid}?lang=en")))
    assert f"Birth year {person.birth_date.year} " in page
    assert "Birth date" not in page and person.birth_date.isoformat() not in page
    swedish = spoken(text_of(client.get(f"/cases/{case.uid}?lang=sv")))
    assert f"Födelseår {person.birth_date.year} " in swedish
    kept = reload(db_session, Person, running.person_id)
    assert f"Birth date {kept.birth_date.isoformat()} " in spoken(
        text_of(client.get(f"/cases/{running.uid}?lang=en"))
    )


def _looked_up_by_an_administrator(client, make_user, person):
    """An administrator's look-up of the person by their (anonymised) reservnummer: the persons page."""
    admin = make_user(None, roles="admin")
    assert login(client, admin.username).status_code == 302
    lookup = forms_of(text_of(client.get("/admin/persons")))["/admin/persons"]
    return client.post(
        "/admin/persons",
        data=fill(lookup, id_kind="reservnummer", identifier=person.id_number, purpose="Begäran om utdrag"),
    )


def test_the_administrator_gets_no_particulars_form_for_an_anonymised_person(
    client,
    db_session,
    ended_case,  # noqa: F811
    policy,  # noqa: F811
    now,
    make_user,
):
    case, person = _anonymised(db_session, ended_case, policy, now)
    found = _looked_up_by_an_administrator(client, make_user, person)
    assert found.status_code == 200
    forms = forms_of(text_of(found))
    assert "/admin/persons/particulars" not in forms
    # The extracts still work for the anonymised person.
    assert "/admin/persons/loggutdrag" in forms and "/admin/persons/registerutdrag" in forms


def test_an_anonymised_cases_codes_take_no_typed_reason(
    client,
    db_session,
    ended_case,  # noqa: F811
    policy,  # noqa: F811
    now,
    parties,
):
    case = ended_case("closed")
    meeting = db_session.exec(select(Meeting).where(Meeting.case_id == case.id)).one()
    db_session.add(CodeRecord(**coded_meeting_fields(case, meeting, parties), sign=1, age_years=30))
    db_session.commit()
    assert login(client, parties.region_user.username).status_code == 302
    url = f"/cases/{case.uid}/meetings/{meeting.id}/codes/correct"
    assert f'href="{url}"' in text_of(client.get(f"/cases/{case.uid}"))
    assert run(db_session, policy, now) == 1
    # The case page no longer offers the correction a post would refuse.
    assert f'href="{url}"' not in text_of(client.get(f"/cases/{case.uid}"))
    page = client.get(url)
    form = forms_of(text_of(page)).get(url)
    if form is None:  # no form offered: post what a page read before retention would have sent
        form = [("csrf_token", forms_of(text_of(page))["/logout"][0][1]), ("after", "")]
    refused = client.post(url, data=fill(form, reason="Testa Person var inte med."))
    assert refused.status_code == 409
    db_session.expire_all()
    reasons = db_session.exec(select(CodeRecord.reason).where(CodeRecord.case_id == case.id)).all()
    assert reasons == [None]


def test_a_crafted_change_of_an_anonymised_person_is_refused_by_the_administrators_page(
    client,
    db_session,
    ended_case,  # noqa: F811
    policy,  # noqa: F811
    now,
    make_user,
):
    case, person = _anonymised(db_session, ended_case, policy, now)
    found = _looked_up_by_an_administrator(client, make_user, person)
    extract = forms_of(text_of(found))["/admin/persons/loggutdrag"]
    data = {
        "csrf_token": dict(extract)["csrf_token"],
        "person_ref": dict(extract)["person_ref"],
        "given_name": "Testa",
        "family_name": "Person",
        "home_municipality_code": VAXJO,
        "purpose": "Rättelse",
    }
    refused = client.post("/admin/persons/particulars", data=data)
    assert refused.status_code == 403
    person = reload(db_session, Person, person.id)
    assert person.given_name == ANONYMOUS_GIVEN_NAME
