"""A SIP coordinates at least two organisations that can see it: the initiator and those the consent in force
covers. Two organisations taking part while the consent covers only one is not enough (the guard
two_organisations counts the organisations seeing the SIP, not those taking part)."""

from datetime import timedelta

import pytest
import support
from sqlmodel import select

from sipflow.cases.errors import GuardFailed
from sipflow.consent.models import Consent
from sipflow.consent.services import give_consent
from sipflow.db import unit_of_work

REFUSAL = (
    "Bara en av de deltagande organisationerna kan se SIP:en: samtycket som gäller omfattar inte de andra, "
    "och en SIP behöver minst två organisationer som kan se den. Ett samtycke som omfattar ytterligare en "
    "organisation registreras med ”Registrera ytterligare samtycke” under Samtycke."
)


def fire(db_session, registry, parties, case, trigger, now, **overrides):
    return support.fire(db_session, registry, parties.region_user, case, trigger, now=now, **overrides)


@pytest.mark.parametrize("workflow", ["sip", "sip_discharge", "sip_child"])
def test_a_consent_covering_only_the_initiator_does_not_start_the_preparation(
    workflow, db_session, registry, parties, create_case, now
):
    case = create_case(workflow)
    fire(
        db_session,
        registry,
        parties,
        case,
        "give_consent",
        now,
        organisation_ids=[parties.region.organisation_id],
    )
    with pytest.raises(GuardFailed) as refused:
        fire(db_session, registry, parties, case, "start_preparation", now)
    assert refused.value.guard == "two_organisations"
    assert str(refused.value.message) == REFUSAL
    db_session.rollback()
    db_session.refresh(case)
    assert case.version == 2


def test_the_initiator_sees_the_sip_without_the_consent_naming_it(
    db_session, registry, parties, create_case, now
):
    """The consent covers Växjö kommun only: the region, which started the SIP, sees it all the same."""
    case = create_case()
    fire(
        db_session,
        registry,
        parties,
        case,
        "give_consent",
        now,
        organisation_ids=[parties.municipality.organisation_id],
    )
    fire(db_session, registry, parties, case, "start_preparation", now)
    assert case.version == 3


def test_a_plan_is_not_established_once_the_consent_in_force_covers_one_organisation(
    db_session, registry, parties, create_case, now
):
    """The consent covering both runs out and a further one covers the region only: no plan is established
    for a SIP Växjö kommun can no longer see (nor revised, by the same guard)."""
    case = create_case()
    for trigger in ("give_consent", "start_preparation", "send_kallelse", "hold_meeting"):
        fire(db_session, registry, parties, case, trigger, now)
    later = now + timedelta(days=2)
    with unit_of_work(db_session):
        for consent in db_session.exec(select(Consent).where(Consent.case_id == case.id)):
            consent.valid_until = (now + timedelta(days=1)).date()
            db_session.add(consent)
        give_consent(
            db_session,
            case,
            parties.region_user,
            {"given_by": "person", "form": "oral", "organisation_ids": [parties.region.organisation_id]},
            now=later,
        )
    version = case.version
    with pytest.raises(GuardFailed) as refused:
        fire(db_session, registry, parties, case, "establish_plan", later)
    assert refused.value.guard == "two_organisations"
    assert str(refused.value.message) == REFUSAL
    db_session.rollback()
    db_session.refresh(case)
    assert case.version == version


def test_fewer_than_two_organisations_taking_part_keep_the_fixed_message(
    db_session, registry, parties, create_case, now
):
    case = create_case(units=[])
    fire(db_session, registry, parties, case, "give_consent", now)
    with pytest.raises(GuardFailed) as refused:
        fire(db_session, registry, parties, case, "start_preparation", now)
    assert str(refused.value.message) == (
        "Minst två organisationer måste delta i en SIP och kunna se den enligt samtycket."
    )
