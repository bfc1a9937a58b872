"""Fixtures for the reminder tests: the meeting tests' ready SIP and booking, on the frozen clock."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# The meeting tests' helpers (meetingkit) and fixtures: the same world, built the same way.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "meetings"))
from meetings.conftest import book, ready  # noqa: E402, F401
from remkit import RENEW_CONSENT, established, sip_declaring  # noqa: E402

from sipflow.cases.models import SipCase  # noqa: E402
from sipflow.clock import now_utc  # noqa: E402
from sipflow.db import unit_of_work  # noqa: E402
from sipflow.reminders.services import DECLARED, reconcile_case  # noqa: E402


@pytest.fixture(autouse=True)
def _reminders_on_the_frozen_clock(frozen_clock):
    """Freeze sipflow's clock (FIXED_NOW, a Monday in November) for every test in this folder."""
    return frozen_clock


@pytest.fixture
def declaring(db_session, registry, parties, create_case, monkeypatch):
    """An established SIP whose workflow file (in the app's registry) declares a reminder to every
    participant 14 days before the follow-up; its reminder rows written. The case."""
    case = established(db_session, registry, parties, create_case)
    workflow = sip_declaring("prepare_follow_up", "follow_up_on", offset_days=-14, recipients=["participant"])
    monkeypatch.setitem(registry._by_key, (case.workflow_name, case.workflow_version), workflow)
    with unit_of_work(db_session):
        reconcile_case(
            db_session, workflow, db_session.get(SipCase, case.id), now=now_utc(), families={DECLARED}
        )
    return case


@pytest.fixture
def renewing(registry, monkeypatch):
    """The sip workflow, in the app's registry, with a reminder to the initiator 14 days before the consent
    runs out (remkit.RENEW_CONSENT)."""
    workflow = sip_declaring(
        RENEW_CONSENT["name"],
        RENEW_CONSENT["anchor"],
        offset_days=RENEW_CONSENT["offset_days"],
        recipients=RENEW_CONSENT["recipients"],
        label=RENEW_CONSENT["label"],
    )
    monkeypatch.setitem(registry._by_key, (workflow.name, workflow.version), workflow)
    return workflow
