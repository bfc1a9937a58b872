"""A participant's removal, a unit's contact person and a consent withdrawn for one organisation, each sent
twice from the same page (a double click, a network's resend): the second send, stale by the first's own
change, is told done ("troligen ett dubbelklick") and changes nothing; another choice or reason, or the
same change made by someone else meanwhile, is not told done."""

from __future__ import annotations

import pytest
import support
from sqlmodel import select
from webkit import FreshContextClient, fill, forms_of, login, text_of

from sipflow.cases.models import Participant, SipCase
from sipflow.clock import now_utc
from sipflow.consent.models import ConsentOrganisation

DOUBLE_CLICK = "redan gjort för en stund sedan, troligen ett dubbelklick"


def _client(app, user) -> FreshContextClient:
    client = FreshContextClient(app, app.response_class, use_cookies=True)
    assert login(client, user.username).status_code == 302
    return client


def _told_done(client, response, case, change: str) -> None:
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/cases/{case.uid}")
    assert f"{change}: {DOUBLE_CLICK}" in text_of(client.get(f"/cases/{case.uid}"))


def _sent_twice_made_once(db_session, client, url, data, case, change: str) -> None:
    """Send the form, then the very same again: the second is told done and the SIP is not changed again."""
    assert client.post(url, data=data).status_code == 303
    version = _version(db_session, case)
    _told_done(client, client.post(url, data=data), case, change)
    assert _version(db_session, case) == version


def _not_told_done(client, response, case) -> None:
    assert response.status_code >= 400
    assert DOUBLE_CLICK not in text_of(response)
    assert DOUBLE_CLICK not in text_of(client.get(f"/cases/{case.uid}"))


def _version(db_session, case) -> int:
    db_session.expire_all()
    return db_session.get(SipCase, case.id).version


@pytest.fixture
def consented(db_session, registry, parties, create_case):
    """A SIP the person consented to for the region (initiator) and the municipality."""
    case = create_case()
    support.fire(db_session, registry, parties.region_user, case, "give_consent", now=now_utc())
    return case


def _unit(db_session, case, organisation_id) -> Participant:
    db_session.expire_all()
    return db_session.exec(
        select(Participant).where(
            Participant.case_id == case.id, Participant.organisation_id == organisation_id
        )
    ).one()


# --- A participant removed ----------------------------------------------------------------------------------


def _removal(client, case, participant_id, reason):
    url = f"/cases/{case.uid}/participants/{participant_id}/remove"
    return url, fill(forms_of(text_of(client.get(url)))[url], reason=reason)


def test_a_removal_sent_twice_is_made_once_and_told_done(app, db_session, parties, consented):
    region = _client(app, parties.region_user)
    municipality = _unit(db_session, consented, parties.municipality.organisation_id)
    url, data = _removal(region, consented, municipality.id, "Fel kommun")
    _sent_twice_made_once(db_session, region, url, data, consented, "Ta bort deltagare")
    row = _unit(db_session, consented, parties.municipality.organisation_id)
    assert row.removed_reason == "Fel kommun" and row.removed_by_user_id == parties.region_user.id


def test_a_removal_sent_again_with_another_reason_is_not_told_done(app, db_session, parties, consented):
    region = _client(app, parties.region_user)
    municipality = _unit(db_session, consented, parties.municipality.organisation_id)
    url, data = _removal(region, consented, municipality.id, "Fel kommun")
    assert region.post(url, data=data).status_code == 303

    other = data.copy()
    other["reason"] = "Flyttat till en annan kommun"
    _not_told_done(region, region.post(url, data=other), consented)
    assert _unit(db_session, consented, parties.municipality.organisation_id).removed_reason == "Fel kommun"


def test_the_same_removal_made_by_someone_else_meanwhile_is_not_told_done(
    app, db_session, parties, consented, make_user
):
    region = _client(app, parties.region_user)
    colleague = _client(app, make_user(parties.region))
    municipality = _unit(db_session, consented, parties.municipality.organisation_id)
    url, data = _removal(region, consented, municipality.id, "Fel kommun")
    _, theirs = _removal(colleague, consented, municipality.id, "Fel kommun")
    assert colleague.post(url, data=theirs).status_code == 303

    _not_told_done(region, region.post(url, data=data), consented)


# --- A consent withdrawn for one organisation ---------------------------------------------------------------


def _withdrawal(client, case, organisation_id, reason):
    url = f"/cases/{case.uid}/consent/withdraw-organisation"
    form = forms_of(text_of(client.get(url)))[url]
    return url, fill(form, organisation_id=str(organisation_id), reason=reason)


def _withdrawn(db_session, organisation_id) -> list[tuple]:
    db_session.expire_all()
    return db_session.exec(
        select(ConsentOrganisation.withdrawn_by_user_id, ConsentOrganisation.withdrawn_reason).where(
            ConsentOrganisation.organisation_id == organisation_id,
            ConsentOrganisation.withdrawn_at.is_not(None),
        )
    ).all()


def test_a_withdrawal_for_one_organisation_sent_twice_is_recorded_once_and_told_done(
    app, db_session, parties, joined_later
):
    case, organisation_id = joined_later, parties.municipality.organisation_id
    region = _client(app, parties.region_user)
    url, data = _withdrawal(region, case, organisation_id, "Vill inte att kommunen får uppgifterna")
    _sent_twice_made_once(db_session, region, url, data, case, "Återkalla samtycket för en organisation")
    assert _withdrawn(db_session, organisation_id) == [
        (parties.region_user.id, "Vill inte att kommunen får uppgifterna")
    ]


def test_a_withdrawal_sent_again_with_another_reason_is_not_told_done(app, db_session, parties, joined_later):
    case, organisation_id = joined_later, parties.municipality.organisation_id
    region = _client(app, parties.region_user)
    url, data = _withdrawal(region, case, organisation_id, "Vill inte att kommunen får uppgifterna")
    assert region.post(url, data=data).status_code == 303

    other = data.copy()
    other["reason"] = "Har bytt kommun"
    _not_told_done(region, region.post(url, data=other), case)
    assert _withdrawn(db_session, organisation_id) == [
        (parties.region_user.id, "Vill inte att kommunen får uppgifterna")
    ]


def test_a_withdrawal_the_page_can_no_longer_take_shows_its_reason_back(
    app, db_session, parties, joined_later
):
    # The consent covered one organisation besides the initiator: once it is withdrawn the page offers no
    # form, and a second withdrawal sent from a page read before (another reason typed) is refused.
    case, organisation_id = joined_later, parties.municipality.organisation_id
    region = _client(app, parties.region_user)
    url, data = _withdrawal(region, case, organisation_id, "Vill inte att kommunen får uppgifterna")
    assert region.post(url, data=data).status_code == 303
    other = data.copy()
    other["reason"] = "Har flyttat till en annan kommun och vill börja om"
    refused = region.post(url, data=other)
    assert refused.status_code >= 400
    page = text_of(refused)
    assert "Det du fyllde i" in page and "Har flyttat till en annan kommun och vill börja om" in page


def test_the_same_withdrawal_recorded_by_someone_else_meanwhile_is_not_told_done(
    app, db_session, parties, joined_later, make_user
):
    case, organisation_id = joined_later, parties.municipality.organisation_id
    region = _client(app, parties.region_user)
    colleague = _client(app, make_user(parties.region))
    url, data = _withdrawal(region, case, organisation_id, "Vill inte")
    _, theirs = _withdrawal(colleague, case, organisation_id, "Vill inte")
    assert colleague.post(url, data=theirs).status_code == 303

    _not_told_done(region, region.post(url, data=data), case)


# --- A unit's contact person named --------------------------------------------------------------------------


def _contact_person_url(case, participant_id) -> str:
    return f"/cases/{case.uid}/participants/{participant_id}/contact-person"


def test_bli_kontaktperson_pressed_twice_is_told_done(app, db_session, parties, consented):
    municipality = _unit(db_session, consented, parties.municipality.organisation_id)
    url = _contact_person_url(consented, municipality.id)
    client = _client(app, parties.municipality_user)
    data = fill(forms_of(text_of(client.get(f"/cases/{consented.uid}")))[url])  # the case page's button
    _sent_twice_made_once(db_session, client, url, data, consented, "Bli kontaktperson")
    row = _unit(db_session, consented, parties.municipality.organisation_id)
    assert row.contact_user_id == row.contact_named_by_user_id == parties.municipality_user.id


def test_a_colleague_named_twice_is_told_done_and_another_choice_is_not(
    app, db_session, parties, consented, make_user
):
    colleague, other = make_user(parties.municipality), make_user(parties.municipality)
    municipality = _unit(db_session, consented, parties.municipality.organisation_id)
    url = _contact_person_url(consented, municipality.id)
    client = _client(app, parties.municipality_user)
    data = fill(forms_of(text_of(client.get(url)))[url], contact_user_id=str(colleague.id))
    assert client.post(url, data=data).status_code == 303

    _told_done(client, client.post(url, data=data), consented, "Spara kontaktpersonen")
    another = data.copy()
    another["contact_user_id"] = str(other.id)
    _not_told_done(client, client.post(url, data=another), consented)
    assert _unit(db_session, consented, parties.municipality.organisation_id).contact_user_id == colleague.id


def test_the_same_contact_person_named_by_someone_else_meanwhile_is_not_told_done(
    app, db_session, parties, consented, make_user
):
    municipality = _unit(db_session, consented, parties.municipality.organisation_id)
    url = _contact_person_url(consented, municipality.id)
    client = _client(app, parties.municipality_user)
    colleague = _client(app, make_user(parties.municipality))
    data = fill(forms_of(text_of(client.get(url)))[url], contact_user_id=str(parties.municipality_user.id))
    theirs = fill(
        forms_of(text_of(colleague.get(url)))[url], contact_user_id=str(parties.municipality_user.id)
    )
    assert colleague.post(url, data=theirs).status_code == 303

    _not_told_done(client, client.post(url, data=data), consented)
