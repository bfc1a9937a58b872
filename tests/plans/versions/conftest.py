"""Fixtures for the plan-version tests: a SIP at its meeting with a whole plan, then established."""

from __future__ import annotations

from datetime import timedelta

import pytest
import support
from versionkit import PlannedCase, at_meeting_held


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
