"""A discharge SIP's meeting booked for Tuesday 30 March 2027, the day after annandag påsk: its booker's
reminder that invitations are still unanswered went three days before, on påskafton, and was first read on
the meeting's own morning, too late to ring round. It goes on the last working day before instead,
skärtorsdag, at the meeting's clock time; a day three days before that is a working day is kept."""

from __future__ import annotations

from datetime import datetime, timedelta

from remkit import reminders

from sipflow.clock import local_to_utc, stored_utc
from sipflow.reminders.models import INVITATION_UNANSWERED


def _unanswered_at(engine, book, starts: datetime) -> datetime:
    at = local_to_utc(starts)
    meeting = book(meeting_starts_at=at, meeting_ends_at=at + timedelta(hours=1))
    (row,) = reminders(engine, meeting_id=meeting.id, kind=INVITATION_UNANSWERED)
    return stored_utc(row.due_at)


def test_a_meeting_after_easter_is_told_unanswered_on_skartorsdag(engine, book):
    due = _unanswered_at(engine, book, datetime(2027, 3, 30, 10))
    assert due == local_to_utc(datetime(2027, 3, 25, 10))


def test_a_meeting_on_a_thursday_is_told_unanswered_on_the_monday(engine, book):
    due = _unanswered_at(engine, book, datetime(2027, 3, 18, 10))
    assert due == local_to_utc(datetime(2027, 3, 15, 10))
