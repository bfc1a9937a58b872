"""A case reference drawn twice in a year: the second start draws again instead of failing."""

from __future__ import annotations

import pytest
from sqlmodel import func, select

from sipflow.cases import services
from sipflow.cases.models import SipCase
from sipflow.reminders.models import Reminder


def _reminders_of(db_session, case) -> int:
    return db_session.exec(
        select(func.count()).select_from(Reminder).where(Reminder.case_id == case.id)
    ).one()


@pytest.fixture
def start(db_session, registry, parties, make_person, now):
    """Start a sip case for a new person, as the region user with the municipality taking part."""
    return lambda **options: services.create_case(
        db_session,
        registry,
        parties.region_user,
        workflow_name="sip",
        person=make_person(),
        unit_ids=[parties.municipality.id],
        now=now,
        **options,
    )


def test_a_start_that_draws_a_taken_reference_draws_again(db_session, start, monkeypatch):
    first = start()
    db_session.commit()
    draws = iter([first.reference, "SIP-2026-FRESH2"])
    monkeypatch.setattr(services, "new_reference", lambda _now: next(draws))

    second = start()
    db_session.commit()

    assert second.reference == "SIP-2026-FRESH2" and second.id != first.id
    assert db_session.exec(select(func.count()).select_from(SipCase)).one() == 2
    # The new case's reminders are written as for any start.
    assert _reminders_of(db_session, second) == _reminders_of(db_session, first) > 0


def test_a_reference_the_caller_chose_is_not_drawn_again_when_taken(db_session, start):
    first = start()
    db_session.commit()

    with pytest.raises(RuntimeError, match="no free case reference"):
        start(reference=first.reference)
