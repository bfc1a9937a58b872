"""A staff member moves a meeting to another day while the scheduler's reminder job sends its "meeting
tomorrow" reminders (PostgreSQL, real concurrent sessions).

The move holds the case and moves the meeting's pending reminders to the new day by id. The job claimed and
sent them between the move's read and its write: the move then wrote the new day onto reminders already
sent, so the case page listed them as sent about the new day, and nobody was reminded of the meeting on its
new day. The job now holds the cases of the reminders it claims (FOR SHARE SKIP LOCKED) and leaves those of
a case another write holds for its next tick: moved by then, they go on the new day.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from remkit import reminder_mails, reminders
from sqlalchemy import event as sa_event
from sqlmodel import Session
from support import waiting_on_a_lock
from test_case_lock import WAIT_SECONDS
from test_reminders import MEETING, TICK

from sipflow.cases.models import SipCase
from sipflow.db import unit_of_work
from sipflow.meetings import services as meeting_services
from sipflow.meetings.booking import Booking
from sipflow.meetings.models import Meeting
from sipflow.reminders.services import dispatch_due

pytestmark = pytest.mark.postgresql


def _tick(app, engine, registry, outcome: list) -> None:
    """The scheduler's reminder job at TICK, in a session of its own."""
    try:
        with app.app_context(), Session(engine) as session:
            with unit_of_work(session):
                dispatch_due(session, registry, now=TICK)
        outcome.append("ticked")
    except Exception as error:  # noqa: BLE001 (the test asserts which)
        outcome.append(error)


def test_a_meeting_moved_while_its_reminders_go_out_is_reminded_of_on_its_new_day(
    app, engine, registry, book, ready
):
    meeting = book()
    outcome: list = []
    tick = threading.Thread(target=_tick, args=(app, engine, registry, outcome))
    here = threading.get_ident()

    def moving_the_reminders(_conn, _cursor, statement, *_args) -> None:
        # The move has read the meeting's pending reminders and writes the first: the job runs now.
        if threading.get_ident() != here or tick.ident is not None:
            return
        if not statement.startswith("UPDATE reminder"):
            return
        tick.start()
        deadline = time.monotonic() + WAIT_SECONDS
        while tick.is_alive() and not waiting_on_a_lock(engine):
            assert time.monotonic() < deadline, "the job neither waited nor finished"
            time.sleep(0.01)

    new_day = MEETING + timedelta(days=2)
    sa_event.listen(engine, "before_cursor_execute", moving_the_reminders)
    try:
        with app.app_context(), Session(engine) as session:
            with unit_of_work(session):
                moved = session.get(Meeting, meeting.id)
                meeting_services.change_meeting(
                    session,
                    session.get(SipCase, ready.case.id),
                    moved,
                    Booking(new_day, new_day + timedelta(hours=1), moved.mode, None, None),
                    now=TICK,
                )
    finally:
        sa_event.remove(engine, "before_cursor_execute", moving_the_reminders)
    tick.join(WAIT_SECONDS)
    assert not tick.is_alive() and outcome == ["ticked"]
    tomorrow = reminders(engine, kind="meeting_tomorrow")
    # Every invitee's reminder waits for the day before the new day; none is recorded sent about it.
    assert {(r.status, r.due_at) for r in tomorrow} == {("pending", new_day - timedelta(days=1))}
    assert len(tomorrow) == 5
    assert reminder_mails(engine) == []
