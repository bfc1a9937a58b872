"""Fixtures of the statistics tests."""

from __future__ import annotations

import pytest
from statskit import World


@pytest.fixture
def world(db_session, app, registry, make_unit, make_user, now):
    """A region and a municipality unit and helpers to add held, coded meetings."""
    return World(db_session, app, registry, make_unit, make_user, now)
