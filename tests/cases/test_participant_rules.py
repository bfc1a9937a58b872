"""Participant changes: the service refuses an ended SIP and claims the case version, whoever calls it."""

from __future__ import annotations

import pytest
import support
from sqlmodel import select

from sipflow.cases import services
from sipflow.cases.errors import CaseEnded, StaleCase
from sipflow.cases.models import Participant
from sipflow.clock import now_utc
from sipflow.db import unit_of_work
from sipflow.errors import InvalidInput


@pytest.fixture
def ended_case(db_session, registry, parties, create_case, now):
    """A SIP cancelled by its initiator: in a final state of its workflow."""
    case = create_case()
    support.fire(db_session, registry, parties.region_user, case, "cancel", now=now)
    assert registry.get(case.workflow_name, case.workflow_version).is_final(case.state)
    return case


def _changes(session, registry, case, parties, now):
    """Each participant change the services offer, as (name, call taking the expected version)."""
    return [
        (
            "unit",
            lambda v: services.add_unit_participant(
                session, registry, case, parties.school.id, now=now, expected_version=v
            ),
        ),
        (
            "private",
            lambda v: services.add_private_participant(
                session,
                registry,
                case,
                kind="narstaende",
                name="Nära Anhörig",
                relation="make",
                email=None,
                phone=None,
                now=now,
                expected_version=v,
            ),
        ),
        (
            "contact",
            lambda v: services.set_participant_contact(
                session,
                registry,
                case,
                _municipality_participant(session, case),
                email="kontakt@example.se",
                phone=None,
                now=now_utc(),
                expected_version=v,
            ),
        ),
    ]


def _municipality_participant(session, case) -> int:
    return session.exec(
        select(Participant.id).where(
            Participant.case_id == case.id,
            Participant.kind == "organisation",
            Participant.role != "initiator",
        )
    ).first()


@pytest.mark.parametrize("which", ["unit", "private", "contact"])
def test_an_ended_sip_takes_no_participant_change_whoever_calls(
    db_session, registry, parties, ended_case, now, which
):
    """Not only the page: a script or another service calling the service is refused on an ended SIP."""
    change = dict(_changes(db_session, registry, ended_case, parties, now))[which]
    before = ended_case.version
    with pytest.raises(CaseEnded) as refused:
        with unit_of_work(db_session):
            change(ended_case.version)
    assert refused.value.status == 409
    assert refused.value.code == "case_ended"
    db_session.refresh(ended_case)
    assert ended_case.version == before


@pytest.mark.parametrize("which", ["unit", "private", "contact"])
def test_a_participant_change_raises_the_version_and_a_second_one_from_the_same_version_conflicts(
    db_session, registry, parties, create_case, now, which
):
    """Two people changing one SIP's participants from the same page: the second gets the conflict."""
    case = create_case()
    change = dict(_changes(db_session, registry, case, parties, now))[which]
    read_at = case.version
    with unit_of_work(db_session):
        change(read_at)
    db_session.refresh(case)
    assert case.version == read_at + 1
    with pytest.raises(StaleCase):
        with unit_of_work(db_session):
            change(read_at)
    db_session.refresh(case)
    assert case.version == read_at + 1


@pytest.mark.parametrize("field", ["name", "relation", "email", "phone"])
def test_a_nul_in_a_private_participants_particulars_is_refused_at_the_field(
    db_session, registry, create_case, now, field
):
    # The web refuses a NUL in any form; whoever else calls the service is refused at the field, not with
    # the database's error (PostgreSQL stores no NUL), and nothing is added.
    case = create_case()
    particulars = {"name": "Nära Anhörig", "relation": "make", "email": "nara@example.se", "phone": "070"}
    particulars[field] += "\x00"
    with pytest.raises(InvalidInput) as refused:
        with unit_of_work(db_session):
            services.add_private_participant(
                db_session, registry, case, kind="narstaende", now=now, **particulars
            )
    assert refused.value.field == field
    assert not db_session.exec(select(Participant).where(Participant.kind == "narstaende")).all()
