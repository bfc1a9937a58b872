"""The reconciliation reads a case's reminder rows and its open deadlines in one statement (UNION ALL), both
dialects: one round trip fewer for the steps that need both (establish_plan, revise_plan)."""

from __future__ import annotations

from datetime import timedelta

import support
from remkit import UNTIL_PLAN, walk
from sqlmodel import select

from sipflow.cases.models import Deadline
from sipflow.db import column_rows, unit_of_work
from sipflow.reminders.models import CANCELLED, Reminder
from sipflow.reminders.services import _OPEN_DEADLINES, _case_rows_and_open_deadlines


def _reminder_reads(seen: list[str]) -> list[str]:
    return [
        s
        for s in seen
        if s.lstrip().upper().startswith("SELECT") and " FROM reminder " in " ".join(s.split())
    ]


def test_a_plan_step_reads_the_reminder_rows_with_the_open_deadlines(
    engine, db_session, registry, parties, create_case
):
    case = create_case("sip")
    path = [*UNTIL_PLAN, "follow_up", "revise_plan"]
    steps = support.fired_with_statements(
        db_session, registry, parties.region_user, case, engine, path, start=support.FIXED_NOW
    )
    for trigger, seen in steps:
        if trigger in ("establish_plan", "revise_plan"):
            reads = _reminder_reads(seen)
            assert len(reads) == 1 and support.deadline_reads(seen) == reads, (trigger, seen)


def test_the_one_read_gives_what_the_two_reads_give(engine, db_session, registry, parties, create_case):
    case = create_case("sip")
    walk(db_session, registry, parties.region_user, case, UNTIL_PLAN)
    with unit_of_work(db_session):
        # A met deadline and a cancelled reminder row besides the open ones and the pending rows.
        met = Deadline(
            case_id=case.id,
            kind="follow_up",
            due_at=support.FIXED_NOW + timedelta(days=3),
            met_at=support.FIXED_NOW,
        )
        db_session.add(met)
        pending = db_session.exec(select(Reminder).where(Reminder.case_id == case.id)).all()
        assert pending
        pending[0].status = CANCELLED
    with unit_of_work(db_session):
        held = db_session.exec(select(Reminder).where(Reminder.case_id == case.id)).all()
        rows, deadlines = _case_rows_and_open_deadlines(db_session, case)
        # The session's own objects, each once; the deadlines' values as the read of them alone gives.
        assert sorted(rows, key=lambda r: r.id) == sorted(held, key=lambda r: r.id)
        assert all(any(r is h for h in held) for r in rows)
        assert {r.status for r in rows} > {CANCELLED}
        alone = column_rows(db_session, _OPEN_DEADLINES, {"case_id": case.id})
        assert deadlines and [tuple(d) for d in deadlines] == sorted(tuple(d) for d in alone)
        assert met.id not in {d.id for d in deadlines}
        assert deadlines[0].due_at.tzinfo is not None
