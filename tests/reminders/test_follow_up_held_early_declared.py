"""A reminder the workflow file declares ahead of the follow-up day ("prepare the follow-up") is about the
follow-up still to be held: once it is held early, the day it counted from is superseded, so nothing is
sent for it; the revised plan's follow-up day gets its own."""

from __future__ import annotations

from datetime import timedelta

import support
from remkit import morning_of, reminders, tick

from sipflow.cases.models import SipCase
from sipflow.clock import add_days, frozen, to_local
from sipflow.plans.services import working_plan


def _prepare_rows(engine):
    return [r for r in reminders(engine) if r.kind == "workflow" and r.topic == "prepare_follow_up"]


def _held_early(db_session, registry, parties, case):
    """The follow-up held 20 days before its planned day: the day then is the superseded one."""
    held = add_days(case.follow_up_on, -20)
    with frozen(held):
        support.fire(db_session, registry, parties.region_user, case, "follow_up", now=held)
    return held


def test_a_follow_up_held_early_is_not_prepared_for_afterwards(
    app, engine, db_session, registry, parties, declaring
):
    case = declaring
    old_day = to_local(case.follow_up_on).date()
    _held_early(db_session, registry, parties, case)
    assert {r.status for r in _prepare_rows(engine)} == {"cancelled"}
    tick(app, morning_of(old_day - timedelta(days=14)) + timedelta(minutes=1))
    assert not [r for r in _prepare_rows(engine) if r.status == "sent"]


def test_the_revised_plans_follow_up_day_gets_its_own_reminder(
    app, engine, db_session, registry, parties, declaring
):
    case = declaring
    held = _held_early(db_session, registry, parties, case)
    at = held + timedelta(hours=1)
    with frozen(at):
        support.fire(db_session, registry, parties.region_user, case, "revise_plan", now=at)
    new_day = working_plan(db_session, case).follow_up_on
    pending = [r for r in _prepare_rows(engine) if r.status == "pending"]
    assert pending and {r.due_at for r in pending} == {morning_of(new_day - timedelta(days=14))}


def test_a_revision_keeping_the_follow_up_day_is_prepared_for_again(
    app, engine, db_session, registry, parties, declaring
):
    case = declaring
    day = to_local(case.follow_up_on).date()
    held = _held_early(db_session, registry, parties, case)
    at = held + timedelta(hours=1)
    with frozen(at):
        support.fire(db_session, registry, parties.region_user, case, "revise_plan", now=at)
    db_session.refresh(case)
    assert to_local(db_session.get(SipCase, case.id).follow_up_on).date() == day
    pending = [r for r in _prepare_rows(engine) if r.status == "pending"]
    assert pending and {r.due_at for r in pending} == {morning_of(day - timedelta(days=14))}
