"""Fixtures for the plan-version tests: a SIP at its meeting with a whole plan, then established."""

from __future__ import annotations

from datetime import timedelta

import pytest
import support
from versionkit import PlannedCase, at_meeting_held, revise_plan_content


@pytest.fixture
def planned(db_session, registry, app, parties, now) -> PlannedCase:
    """A sip case whose meeting is held, with a whole working plan not yet established."""
    return at_meeting_held(db_session, registry, app, parties, now)


@pytest.fixture
def established(db_session, registry, parties, planned, now) -> PlannedCase:
    """The same case with its plan established (version 1)."""
    support.fire(
        db_session,
        registry,
        parties.region_user,
        planned.case,
        "establish_plan",
        now=now + timedelta(hours=1),
    )
    return planned


@pytest.fixture
def revised(db_session, registry, parties, established, now) -> PlannedCase:
    """The established case followed up and revised into version 2: one effort added, one goal reworded."""
    case, plan = established.case, established.plan
    support.fire(db_session, registry, parties.region_user, case, "follow_up", now=now + timedelta(days=1))
    revise_plan_content(db_session, plan, parties)
    support.fire(
        db_session, registry, parties.region_user, case, "revise_plan", now=now + timedelta(days=1, hours=1)
    )
    return established
