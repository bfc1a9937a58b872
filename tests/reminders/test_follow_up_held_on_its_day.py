"""A follow-up meeting held on its day and recorded after the weekend was held by its date: the follow-up
deadline is met when the meeting was held, as a kallelse recorded from another system is met when it was
sent, so the case page does not call it late and the statistics count it among those held by their date."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import support
from remkit import established
from sqlmodel import select

from sipflow.cases.models import Deadline, met_late
from sipflow.clock import local_to_utc, to_local


def test_a_follow_up_held_on_its_day_and_recorded_later_is_met_by_its_date(
    db_session, registry, parties, create_case
):
    case = established(db_session, registry, parties, create_case)
    day = to_local(case.follow_up_on).date()
    held_at = local_to_utc(datetime.combine(day, time(10)))
    recorded = local_to_utc(datetime.combine(day + timedelta(days=3), time(9)))
    support.fire(db_session, registry, parties.region_user, case, "follow_up", now=recorded, held_at=held_at)
    (deadline,) = db_session.exec(
        select(Deadline).where(Deadline.case_id == case.id, Deadline.kind == "follow_up")
    ).all()
    assert deadline.met_at == held_at
    assert not met_late(deadline.met_at, deadline.due_at)


def test_a_follow_up_held_after_its_day_is_met_late(db_session, registry, parties, create_case):
    case = established(db_session, registry, parties, create_case)
    day = to_local(case.follow_up_on).date()
    held_at = local_to_utc(datetime.combine(day + timedelta(days=2), time(10)))
    recorded = held_at + timedelta(hours=2)
    support.fire(db_session, registry, parties.region_user, case, "follow_up", now=recorded, held_at=held_at)
    (deadline,) = db_session.exec(
        select(Deadline).where(Deadline.case_id == case.id, Deadline.kind == "follow_up")
    ).all()
    assert deadline.met_at == held_at
    assert met_late(deadline.met_at, deadline.due_at)
