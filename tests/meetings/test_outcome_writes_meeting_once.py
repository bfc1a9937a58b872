"""The outcome writes its booked meeting's row once: the claim's compare-and-set carries the held columns.

(meetings.services.move_to_held_time: one UPDATE of the meeting, not the claim's and then the held
columns'.) The row, the session's object and the meeting's reminders end as two UPDATEs left them.
"""

from datetime import timedelta

import support
from meetingkit import fire
from sqlalchemy import inspect
from sqlmodel import Session, select

from sipflow.meetings.models import FIRST, HELD, Meeting
from sipflow.notifications.models import OutboxMessage
from sipflow.reminders.models import Reminder

_COLUMNS = (
    "sequence",
    "kind",
    "status",
    "mode",
    "starts_at",
    "ends_at",
    "held_at",
    "moved",
    "classification",
)


def _pending_reminders(engine, meeting_id: int) -> list[int]:
    with Session(engine) as session:
        query = select(Reminder.id).where(Reminder.meeting_id == meeting_id, Reminder.status == "pending")
        return list(session.exec(query).all())


def _meeting_updates(seen: list[str]) -> list[str]:
    return [s for s in seen if s.lstrip().startswith("UPDATE meeting ")]


def test_an_outcome_writes_its_booked_meeting_in_the_claims_update(
    db_session, engine, registry, parties, ready, book
):
    booked = book()
    # Invited: the meeting has reminders while it is planned.
    assert _pending_reminders(engine, booked.id)
    meeting, booked_at = db_session.get(Meeting, booked.id), booked.starts_at
    # The scripted outcome: held now, before the booked time, "the meeting was moved" ticked.
    with support.statements(engine) as seen:
        log = fire(
            db_session, registry, parties.region_user, ready.case, "hold_meeting", meeting_id=meeting.id
        )
    [update] = _meeting_updates(seen)
    # The compare-and-set of the SEQUENCE and the planned status, with every held column.
    where = update[update.index(" WHERE ") :]
    assert "meeting.sequence =" in where and "meeting.status =" in where, update
    assert all(f"{name}=" in update for name in ("status", "held_at", "kind", "mode", "starts_at")), update
    # The session's object holds what the row holds, nothing left to write.
    assert not inspect(meeting).modified
    with Session(engine) as other:
        row = other.get(Meeting, meeting.id)
        assert [getattr(row, c) for c in _COLUMNS] == [getattr(meeting, c) for c in _COLUMNS]
    assert (row.status, row.kind, row.sequence, row.moved) == (HELD, FIRST, 1, True)
    assert row.starts_at == row.held_at and row.starts_at < booked_at
    assert log.details["booked_starts_at"] == booked_at.isoformat()
    # The invitees' calendar entries moved to the held time (as the booked meeting, in its booked mode).
    with Session(engine) as other:
        moved = other.exec(select(OutboxMessage).where(OutboxMessage.kind == "update")).all()
    assert moved
    # The meeting is no longer planned: its reminders are cancelled, as after a flush of its held columns.
    assert _pending_reminders(engine, meeting.id) == []


def test_an_outcome_at_the_booked_time_writes_the_meeting_once_and_cancels_its_reminders(
    db_session, engine, registry, parties, ready, book, frozen_clock
):
    booked = book()
    frozen_clock.set(booked.starts_at + timedelta(hours=2))
    assert _pending_reminders(engine, booked.id)
    meeting, booked_at = db_session.get(Meeting, booked.id), booked.starts_at
    with support.statements(engine) as seen:
        fire(
            db_session,
            registry,
            parties.region_user,
            ready.case,
            "hold_meeting",
            meeting_id=meeting.id,
            held_at=booked_at,
            moved=False,
        )
    # No invitee is told anything (no invitation written): only the claim's UPDATE writes the meeting.
    [update] = _meeting_updates(seen)
    assert "status=" in update and "held_at=" in update, update
    assert not [s for s in seen if s.lstrip().startswith("UPDATE invitation ")]
    assert not inspect(meeting).modified
    with Session(engine) as other:
        row = other.get(Meeting, meeting.id)
        assert [getattr(row, c) for c in _COLUMNS] == [getattr(meeting, c) for c in _COLUMNS]
    assert (row.status, row.sequence, row.moved, row.starts_at, row.held_at) == (
        HELD,
        0,
        False,
        booked_at,
        booked_at,
    )
    # The reminders learn of the held meeting from the claim, which no flush shows.
    assert _pending_reminders(engine, meeting.id) == []
