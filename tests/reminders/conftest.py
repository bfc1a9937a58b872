"""Fixtures for the reminder tests: the meeting tests' ready SIP and booking, on the frozen clock."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# The meeting tests' helpers (meetingkit) and fixtures: the same world, built the same way.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "meetings"))
from meetings.conftest import book, ready  # noqa: E402, F401


@pytest.fixture(autouse=True)
def _reminders_on_the_frozen_clock(frozen_clock):
    """Freeze sipflow's clock (FIXED_NOW, a Monday in November) for every test in this folder."""
    return frozen_clock
