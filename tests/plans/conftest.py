"""Fixtures the plan tests share."""

from __future__ import annotations

import pytest
from plankit import walk
from webkit import login

from sipflow.clock import now_utc


@pytest.fixture
def held(db_session, registry, parties, create_case):
    """A SIP whose meeting is held: the plan can be written and established."""
    return walk(db_session, registry, parties.region_user, create_case(), now_utc())


@pytest.fixture
def as_region(client, parties):
    """The test client logged in as the region's user."""
    assert login(client, parties.region_user.username).status_code == 302
    return client
