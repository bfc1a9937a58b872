"""The booking page that sends the kallelse says when the kallelse is due (the workflow file's deadline the
step meets), so the nurse booking the meeting sees the day she books against; once sent, a further
meeting's booking says no deadline."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select
from webkit import login, text_of

from sipflow.cases.models import Deadline
from sipflow.clock import end_of_local_day, to_local
from sipflow.db import unit_of_work


def test_the_kallelse_booking_says_its_deadline_and_a_later_booking_none(
    client, db_session, parties, ready, book, now
):
    day = to_local(now).date() + timedelta(days=5)
    with unit_of_work(db_session):
        (kallelse,) = db_session.exec(
            select(Deadline).where(Deadline.case_id == ready.case.id, Deadline.met_at.is_(None))
        ).all()
        kallelse.due_at = end_of_local_day(day)
        db_session.add(kallelse)
    login(client, parties.region_user.username)
    page = text_of(client.get(f"/cases/{ready.case.uid}/meetings/new"))
    assert f"senast {day.isoformat()}</strong>" in page
    assert "försenad" not in page
    book()
    later = text_of(client.get(f"/cases/{ready.case.uid}/meetings/new"))
    assert "senast" not in later


def test_a_passed_kallelse_deadline_is_said_to_be_overdue(client, db_session, parties, ready, now):
    with unit_of_work(db_session):
        (kallelse,) = db_session.exec(
            select(Deadline).where(Deadline.case_id == ready.case.id, Deadline.met_at.is_(None))
        ).all()
        kallelse.due_at = now - timedelta(hours=2)
        db_session.add(kallelse)
    login(client, parties.region_user.username)
    page = text_of(client.get(f"/cases/{ready.case.uid}/meetings/new"))
    assert "(försenad)" in page
