"""Staff name their unit's contact person on a SIP: themselves (the case page's "Bli kontaktperson"),
another active staff member of the unit, or none. Only staff of the unit's organisation may; a page read
before another change of the SIP is a conflict with the choice kept; the access log records the change and
no log names anyone."""

from __future__ import annotations

import logging
import re

import pytest
import support
from sqlmodel import select
from webkit import csrf_token, fill, forms_of, login, text_of

from sipflow.cases import services
from sipflow.cases.errors import CaseEnded, StaleCase
from sipflow.cases.models import Participant
from sipflow.clock import now_utc
from sipflow.db import unit_of_work
from sipflow.errors import InvalidInput, NotAllowed
from sipflow.security.audit import CASE_PARTICIPANTS, AccessLogEntry

pytestmark = pytest.mark.usefixtures("frozen_clock")

COLLEAGUE = "Karin Kollegasson"


@pytest.fixture
def consented(db_session, registry, parties, create_case):
    """A SIP the person consented to for the region (initiator) and the municipality (no contact person)."""
    case = create_case()
    support.fire(db_session, registry, parties.region_user, case, "give_consent", now=now_utc())
    return case


@pytest.fixture
def colleague(make_user, parties):
    """Another staff member of the municipality's unit."""
    return make_user(parties.municipality, display_name=COLLEAGUE)


def _unit(db_session, case, unit_id) -> Participant:
    db_session.expire_all()
    return db_session.exec(
        select(Participant).where(Participant.case_id == case.id, Participant.unit_id == unit_id)
    ).one()


def _name(db_session, registry, case, actor, participant_id, user_id, **options):
    db_session.refresh(case)
    with unit_of_work(db_session):
        return services.set_contact_person(
            db_session, registry, case, actor, participant_id, user_id, now=now_utc(), **options
        )


# --- The rule ---------------------------------------------------------------------------------------------


def test_staff_name_themselves_a_colleague_or_no_one(db_session, registry, parties, consented, colleague):
    unit = _unit(db_session, consented, parties.municipality.id)
    assert unit.contact_user_id is None
    version = consented.version
    me = parties.municipality_user
    assert _name(db_session, registry, consented, me, unit.id, me.id).changed
    assert _unit(db_session, consented, parties.municipality.id).contact_user_id == me.id
    assert consented.version == version + 1  # a change of participants, as the others
    assert not _name(db_session, registry, consented, me, unit.id, me.id).changed
    _name(db_session, registry, consented, me, unit.id, colleague.id)
    assert _unit(db_session, consented, parties.municipality.id).contact_user_id == colleague.id
    _name(db_session, registry, consented, me, unit.id, None)
    assert _unit(db_session, consented, parties.municipality.id).contact_user_id is None


def test_only_the_units_own_organisation_names_its_contact_person(db_session, registry, parties, consented):
    unit = _unit(db_session, consented, parties.municipality.id)
    with pytest.raises(NotAllowed):
        _name(db_session, registry, consented, parties.region_user, unit.id, parties.municipality_user.id)
    assert _unit(db_session, consented, parties.municipality.id).contact_user_id is None


def test_only_an_active_staff_member_of_the_unit_is_named(
    db_session, registry, parties, consented, colleague, make_unit, make_user
):
    unit = _unit(db_session, consented, parties.municipality.id)
    me = parties.municipality_user
    with pytest.raises(InvalidInput) as other_unit:
        _name(db_session, registry, consented, me, unit.id, parties.region_user.id)
    assert other_unit.value.field == "contact_user_id"
    colleague.active = False
    db_session.add(colleague)
    db_session.commit()
    with pytest.raises(InvalidInput) as inactive:
        _name(db_session, registry, consented, me, unit.id, colleague.id)
    assert inactive.value.field == "contact_user_id"
    assert _unit(db_session, consented, parties.municipality.id).contact_user_id is None


def test_a_stale_version_and_an_ended_sip_are_refused(db_session, registry, parties, create_case):
    case = create_case()
    unit = _unit(db_session, case, parties.municipality.id)
    me = parties.municipality_user
    with pytest.raises(StaleCase):
        _name(db_session, registry, case, me, unit.id, me.id, expected_version=case.version - 1)
    support.fire(db_session, registry, parties.region_user, case, "decline_consent", now=now_utc())
    with pytest.raises(CaseEnded):
        _name(db_session, registry, case, me, unit.id, me.id)


# --- The pages --------------------------------------------------------------------------------------------


def _page(client, case, participant_id) -> str:
    return f"/cases/{case.uid}/participants/{participant_id}/contact-person"


def test_bli_kontaktperson_on_the_case_page_makes_the_user_the_units_contact_person(
    client, db_session, parties, consented, caplog
):
    login(client, parties.municipality_user.username)
    municipality = _unit(db_session, consented, parties.municipality.id)
    region = _unit(db_session, consented, parties.region.id)
    html = text_of(client.get(f"/cases/{consented.uid}"))
    forms = forms_of(html)
    assert "Bli kontaktperson" in html
    # Only for the user's own organisation's unit: the region names its own.
    assert _page(client, consented, region.id) not in html
    with caplog.at_level(logging.DEBUG):
        done = client.post(
            _page(client, consented, municipality.id),
            data=fill(forms[_page(client, consented, municipality.id)]),
        )
    assert done.status_code == 303
    page = text_of(client.get(done.headers["Location"]))
    assert "Du är nu enhetens kontaktperson i SIP:en." in page
    assert (
        _unit(db_session, consented, parties.municipality.id).contact_user_id == parties.municipality_user.id
    )
    # The button is gone for its contact person; the link to change it stays.
    assert "Bli kontaktperson" not in page and "Byt kontaktperson" in page
    logged = db_session.exec(
        select(AccessLogEntry).where(
            AccessLogEntry.case_id == consented.id, AccessLogEntry.action == CASE_PARTICIPANTS
        )
    ).all()
    assert logged and logged[-1].user_id == parties.municipality_user.id
    assert not [r for r in caplog.records if parties.municipality_user.display_name in r.getMessage()]


def test_a_refused_choice_is_said_beside_the_field_and_a_stale_one_keeps_the_choice(
    client, db_session, registry, parties, consented, colleague, make_user, caplog
):
    login(client, parties.municipality_user.username)
    municipality = _unit(db_session, consented, parties.municipality.id)
    url = _page(client, consented, municipality.id)
    html = text_of(client.get(url))
    assert COLLEAGUE in html and "Ingen kontaktperson" in html
    form = forms_of(html)[url]

    # Someone deactivated meanwhile: refused at the field, nothing changed.
    leaver = make_user(parties.municipality, display_name="Lena Slutat")
    html = text_of(client.get(url))
    form = forms_of(html)[url]
    leaver.active = False
    db_session.add(leaver)
    db_session.commit()
    refused = client.post(url, data=fill(form, contact_user_id=leaver.id))
    assert refused.status_code == 400
    field = re.search(r'<div class="field\s*has-error">.*?</div>', text_of(refused), re.S).group(0)
    assert 'name="contact_user_id"' in field
    assert "Välj någon i enhetens aktiva personal, eller ingen kontaktperson." in field
    assert _unit(db_session, consented, parties.municipality.id).contact_user_id is None

    # A page read before another change of the SIP: a conflict, the colleague still chosen.
    html = text_of(client.get(url))
    form = forms_of(html)[url]
    support.fire(db_session, registry, parties.region_user, consented, "start_preparation", now=now_utc())
    with caplog.at_level(logging.DEBUG):
        stale = client.post(url, data=fill(form, contact_user_id=colleague.id))
    assert stale.status_code == 409
    again = forms_of(text_of(stale))[url]
    assert ("contact_user_id", str(colleague.id)) in again
    assert _unit(db_session, consented, parties.municipality.id).contact_user_id is None
    # Sent again after a look at the SIP as it is now: saved.
    done = client.post(url, data=fill(again))
    assert done.status_code == 303
    assert _unit(db_session, consented, parties.municipality.id).contact_user_id == colleague.id
    assert "Enhetens kontaktperson i SIP:en är ändrad." in text_of(client.get(done.headers["Location"]))
    assert not [r for r in caplog.records if COLLEAGUE in r.getMessage()]


def test_another_organisation_gets_the_refusal_and_no_form(client, db_session, parties, consented):
    login(client, parties.region_user.username)
    municipality = _unit(db_session, consented, parties.municipality.id)
    url = _page(client, consented, municipality.id)
    response = client.get(url)
    assert response.status_code == 403
    assert "Bara personal i enhetens egen organisation kan utse enhetens kontaktperson." in text_of(response)
    assert url not in forms_of(text_of(response))
    token = csrf_token(text_of(client.get(f"/cases/{consented.uid}")))
    posted = client.post(
        url,
        data={"csrf_token": token, "version": consented.version, "contact_user_id": parties.region_user.id},
    )
    assert posted.status_code == 403
    assert _unit(db_session, consented, parties.municipality.id).contact_user_id is None


@pytest.mark.parametrize("posted", ["197707073214", "99999999999999999999", "²", "-3"])
def test_a_choice_no_user_id_can_be_is_refused_at_the_field(client, db_session, parties, consented, posted):
    # Beyond the column (PostgreSQL: integer out of range; SQLite: past 64 bits) it was a 500.
    login(client, parties.municipality_user.username)
    municipality = _unit(db_session, consented, parties.municipality.id)
    url = _page(client, consented, municipality.id)
    form = forms_of(text_of(client.get(url)))[url]
    refused = client.post(url, data=fill(form, contact_user_id=posted))
    assert refused.status_code == 400
    field = re.search(r'<div class="field\s*has-error">.*?</div>', text_of(refused), re.S).group(0)
    assert 'name="contact_user_id"' in field
    assert _unit(db_session, consented, parties.municipality.id).contact_user_id is None


@pytest.mark.parametrize("page", ["remove", "contact-person"])
def test_a_participant_id_written_otherwise_than_as_its_number_names_no_participant(
    client, db_session, parties, consented, page
):
    # Both pages took <int:>, whose \d+ reads "٣" as 3 and "00003" as 3: one participant, many addresses.
    login(client, parties.municipality_user.username)
    municipality = _unit(db_session, consented, parties.municipality.id)
    base = f"/cases/{consented.uid}/participants"
    assert client.get(f"{base}/{municipality.id}/{page}").status_code in (200, 403, 409)
    arabic = "".join(chr(ord("٠") + int(digit)) for digit in str(municipality.id))
    for written in (arabic, f"000{municipality.id}", f"0{municipality.id}"):
        assert client.get(f"{base}/{written}/{page}").status_code == 404, written
