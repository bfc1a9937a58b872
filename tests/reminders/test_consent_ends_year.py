"""A year of a SIP with a reminder ahead of the consent's end (anchor `consent_ends`), as a county sets it up:
consents of different lengths for different organisations, one running out after the other."""

from __future__ import annotations

import tomllib
from datetime import datetime, time, timedelta
from pathlib import Path

import pytest
from remkit import RENEW_CONSENT, further_consent, morning_of, reminders, sip_declaring, tick
from support import FIXED_NOW, fire, two_guardians

from sipflow.clock import local_to_utc
from sipflow.db import unit_of_work
from sipflow.errors import UserError
from sipflow.reminders import consent_ends_job
from sipflow.workflow.definition import WorkflowError, parse_workflow

TODAY = FIXED_NOW.date()
CHILD_FILE = Path(__file__).resolve().parents[2] / "workflows" / "sip_child_v2.toml"


def _rows(engine, status: str) -> list:
    return reminders(engine, kind="workflow", topic="renew_consent", status=status)


def test_the_next_organisations_end_is_reminded_of_once_the_first_has_run_out(
    app, engine, db_session, registry, parties, create_case, renewing, frozen_clock
):
    municipality, school = parties.municipality.organisation_id, parties.school.organisation_id
    case = create_case(units=[parties.municipality.id, parties.school.id])
    first_end, second_end = TODAY + timedelta(days=60), TODAY + timedelta(days=200)
    fire(
        db_session, registry, parties.region_user, case, "give_consent", now=FIXED_NOW,
        valid_until=first_end, organisation_ids=[parties.region.organisation_id, municipality, school],
    )  # fmt: skip
    # The school's consent is renewed for longer; the municipality's runs out first.
    at = FIXED_NOW + timedelta(days=1)
    further_consent(
        db_session,
        registry,
        parties.region_user,
        case,
        at=at,
        valid_until=second_end,
        organisation_ids=[school],
    )
    (row,) = _rows(engine, "pending")
    assert row.due_at == morning_of(first_end - timedelta(days=14))
    tick(app, row.due_at + timedelta(minutes=1))
    assert len(_rows(engine, "sent")) == 1

    # The municipality's last day has ended and no one renewed it: the school's end is the first now, and
    # the school must be reminded of it as the municipality was.
    after = local_to_utc(datetime.combine(first_end + timedelta(days=1), time(0, 1)))
    frozen_clock.set(after)
    consent_ends_job(app, now=after)
    (row,) = _rows(engine, "pending")
    assert row.due_at == morning_of(second_end - timedelta(days=14))


@pytest.fixture
def child_renewing(registry, monkeypatch):
    """The child's SIP (every step asks every guardian's consent) with the same reminder."""
    with CHILD_FILE.open("rb") as handle:
        data = tomllib.load(handle)
    data["reminders"] = [RENEW_CONSENT]
    workflow = parse_workflow(CHILD_FILE, data)
    monkeypatch.setitem(registry._by_key, (workflow.name, workflow.version), workflow)
    return workflow


def test_in_a_childs_sip_the_first_guardians_end_is_reminded_of(
    engine, db_session, registry, parties, create_case, child_renewing, frozen_clock
):
    case = create_case("sip_child")
    with unit_of_work(db_session):
        first, second = two_guardians(db_session, registry, case, now=FIXED_NOW)
    first_end, second_end = TODAY + timedelta(days=60), TODAY + timedelta(days=200)
    fire(
        db_session, registry, parties.region_user, case, "give_consent", now=FIXED_NOW,
        valid_until=first_end, guardian_participant_ids=[first.id, second.id],
    )  # fmt: skip
    # The second guardian consents again, for longer: the organisations stay covered to the second end.
    at = FIXED_NOW + timedelta(days=1)
    further_consent(
        db_session,
        registry,
        parties.region_user,
        case,
        at=at,
        valid_until=second_end,
        guardian_participant_ids=[second.id],
    )
    # But the SIP stops the day after the first guardian's consent ends: the reminder comes before it.
    (row,) = _rows(engine, "pending")
    assert row.due_at == morning_of(first_end - timedelta(days=14))
    after = FIXED_NOW + timedelta(days=61)
    frozen_clock.set(after)
    db_session.refresh(case)
    with pytest.raises(UserError, match="Vårdnadshavare Ett"):
        fire(db_session, registry, parties.region_user, case, "start_preparation", now=after)


def test_a_reminder_after_the_consents_end_is_refused_at_load():
    # The day after it the consent's end has moved on (the next organisation's, or none): a reminder
    # declared after it would be moved away or cancelled before it went, and never mailed.
    with pytest.raises(WorkflowError) as refused:
        sip_declaring("consent_ran_out", "consent_ends", offset_days=1, recipients=["huvudansvarig"])
    assert "reminders.consent_ran_out.offset_days" in str(refused.value)
    assert "0 or less" in str(refused.value)
    # On its last day (0) or before it, as a county would ask for a further consent.
    assert sip_declaring("consent_runs_out", "consent_ends", offset_days=0, recipients=["huvudansvarig"])
