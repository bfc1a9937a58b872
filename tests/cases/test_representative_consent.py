"""Who gives or declines an adult's consent (consent.services._givers, check_consent, check_decline): the
person, or their legal representative (god man or förvaltare), named, since "the legal representative" alone
says nobody once a förvaltare replaces the god man; never a guardian, whose custody ended at 18."""

from __future__ import annotations

from datetime import date

import pytest
from guardiankit import add_guardian, field_errors, guardian_ids, step
from sqlmodel import select
from support import new_case
from webkit import login, text_of

from sipflow.cases.models import SipCase
from sipflow.consent.models import Consent

pytestmark = pytest.mark.usefixtures("frozen_clock")

UNNAMED = "Skriv namnet på den ställföreträdare (god man eller förvaltare) som gav samtycket"


@pytest.fixture
def as_region(client, parties):
    assert login(client, parties.region_user.username).status_code == 302
    return client


def _consents(db_session, case) -> list[Consent]:
    db_session.expire_all()
    return list(db_session.exec(select(Consent).where(Consent.case_id == case.id)).all())


def test_a_representatives_consent_without_their_name_is_refused_beside_the_name(
    as_region, create_case, db_session
):
    case = create_case("sip")
    refused = step(as_region, case, "give_consent", given_by="legal_representative", form="written")
    assert refused.status_code == 400
    assert UNNAMED in field_errors(text_of(refused), "give_consent-given_by_name")
    assert _consents(db_session, case) == []
    assert db_session.get(SipCase, case.id).state == "requested"


def test_a_representatives_consent_with_their_name_says_who_gave_it(as_region, create_case, db_session):
    case = create_case("sip")
    given = step(
        as_region,
        case,
        "give_consent",
        given_by="legal_representative",
        given_by_name="Göran Godman",
        form="written",
    )
    assert given.status_code == 303, text_of(given)
    [consent] = _consents(db_session, case)
    assert (consent.given_by, consent.given_by_name) == ("legal_representative", "Göran Godman")
    page = text_of(as_region.get(f"/cases/{case.uid}"))
    assert "Ställföreträdare (god man eller förvaltare): Göran Godman" in page


def test_the_persons_own_consent_needs_no_name(as_region, create_case, db_session):
    case = create_case("sip")
    given = step(as_region, case, "give_consent", given_by="person", form="oral")
    assert given.status_code == 303, text_of(given)
    assert len(_consents(db_session, case)) == 1


def test_a_representatives_refusal_without_their_name_is_refused_beside_the_name(
    as_region, create_case, db_session
):
    case = create_case("sip")
    typed = {"given_by": "legal_representative", "form": "oral", "reason": "Vill avvakta"}
    refused = step(as_region, case, "decline_consent", **typed)
    assert refused.status_code == 400
    html = text_of(refused)
    assert "Skriv namnet på den ställföreträdare (god man eller förvaltare) som nekade" in field_errors(
        html, "decline_consent-given_by_name"
    )
    assert 'value="Vill avvakta"' in html or "Vill avvakta</textarea>" in html
    assert _consents(db_session, case) == []


def test_a_representatives_refusal_with_their_name_says_who_declined(as_region, create_case, db_session):
    case = create_case("sip")
    declined = step(
        as_region,
        case,
        "decline_consent",
        given_by="legal_representative",
        given_by_name="Göran Godman",
        form="oral",
        reason="Vill avvakta",
    )
    assert declined.status_code == 303, text_of(declined)
    [consent] = _consents(db_session, case)
    assert (consent.decision, consent.given_by_name) == ("declined", "Göran Godman")
    page = text_of(as_region.get(f"/cases/{case.uid}"))
    assert "Ställföreträdare (god man eller förvaltare): Göran Godman" in page


def test_ticked_guardians_and_a_typed_name_in_a_refusal_are_refused_not_one_dropped(
    as_region, create_case, db_session
):
    case = create_case("sip_child")
    add_guardian(as_region, case, "Maria Lindqvist")
    ids = guardian_ids(db_session, case)
    refused = step(
        as_region,
        case,
        "decline_consent",
        given_by="guardian",
        guardian_participant_ids=str(ids["Maria Lindqvist"]),
        given_by_name="Jonas Lindqvist",
        form="oral",
        reason="Vill inte",
    )
    assert refused.status_code == 400
    assert "inte båda" in field_errors(text_of(refused), "decline_consent-given_by_name")
    assert _consents(db_session, case) == []


ADULT_RULE = "Personen är 18 år eller äldre: vårdnadshavarens vårdnad har upphört"


@pytest.mark.parametrize("trigger", ["give_consent", "decline_consent"])
def test_a_guardians_consent_or_refusal_for_an_adult_is_refused_beside_given_by(
    as_region, create_case, db_session, trigger
):
    case = create_case("sip")
    refused = step(as_region, case, trigger, given_by="guardian", given_by_name="Maria Lindqvist",
                   form="written", reason="Vill inte")  # fmt: skip
    assert refused.status_code == 400
    assert ADULT_RULE in field_errors(text_of(refused), f"{trigger}-given_by")
    assert _consents(db_session, case) == []
    assert db_session.get(SipCase, case.id).state == "requested"


def test_a_minors_guardian_still_consents_on_a_sip_that_is_not_a_childs(
    as_region, db_session, registry, parties, make_person, now
):
    case = new_case(
        db_session, registry, parties.region_user, workflow="sip", person=make_person(birth=date(2010, 6, 1)),
        unit_ids=[parties.municipality.id], now=now,
    )  # fmt: skip
    db_session.commit()
    given = step(as_region, case, "give_consent", given_by="guardian", given_by_name="Maria Lindqvist",
                 form="written")  # fmt: skip
    assert given.status_code == 303, text_of(given)
    consents = _consents(db_session, case)
    assert [(c.given_by, c.given_by_name) for c in consents] == [("guardian", "Maria Lindqvist")]


def test_the_withdrawal_page_of_a_representatives_consent_speaks_of_the_representative_not_the_god_man(
    as_region, create_case
):
    """A förvaltare is no god man: the page names the part the consent's giver has, as the form chose it."""
    case = create_case("sip")
    given = step(as_region, case, "give_consent", given_by="legal_representative",
                 given_by_name="Rut Ramström", form="written")  # fmt: skip
    assert given.status_code == 303, text_of(given)
    page = text_of(as_region.get(f"/cases/{case.uid}/consent/withdraw-organisation"))
    assert "När ställföreträdaren återkallar samtycket för en organisation" in page
    assert "Skäl som ställföreträdaren angav" in page
    assert "gode mannen" not in page
