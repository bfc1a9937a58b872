"""Fixtures for the approvals and person-view tests: the frozen clock and a SIP with a plan."""

from __future__ import annotations

import pytest
from personkit import add_effort, add_own_goal, build_world, freeze


@pytest.fixture(autouse=True)
def _on_the_frozen_clock(frozen_clock):
    """Pages, services and tests read the same instant."""
    return frozen_clock


@pytest.fixture
def world(db_session, app, registry, now):
    """A SIP of region (huvudansvar) and municipality with the person and a närstående; consent given."""
    return build_world(db_session, app, registry, now=now)


@pytest.fixture
def planned(db_session, world, now):
    """The world with a plan of two efforts and an own goal, frozen as version 1."""
    add_own_goal(db_session, world, "Det är viktigt för mig att ha ett arbete")
    add_effort(db_session, world, world.region, "Samtalsstöd varannan vecka")
    add_effort(db_session, world, world.municipality, "Boendestöd två dagar i veckan")
    db_session.commit()
    world.extra["v1"] = freeze(db_session, world, now=now)
    return world
