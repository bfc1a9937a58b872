"""A meeting booked outside a step while a step of the same SIP is under way never comes in unseen.

The step hands the meetings it read after its claim to the reminders' reconciliation. A booking that came
in between (committed before the step's commit) would be missing from them, and the step would cancel
its reminders. A write to the meetings outside a step first takes the case's row (cases.services.lock_case):
it waits for the step's commit and then sees the SIP moved on. On PostgreSQL that is a row lock; on SQLite
the database's one write lock, which the step holds from its claim to its commit.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import support
from meetingkit import next_week_at
from remkit import reminders
from sqlalchemy import event as sa_event
from sqlmodel import Session, select

from sipflow.cases.errors import StaleCase
from sipflow.cases.models import SipCase
from sipflow.cases.scripted import fire_scripted, scripted_input
from sipflow.db import unit_of_work
from sipflow.meetings import services as meetings
from sipflow.meetings.models import PLANNED, Meeting
from sipflow.people.models import User
from sipflow.reminders.models import MEETING_TOMORROW, PENDING

WAIT_SECONDS = 20


def _hold_meeting_uncommitted(session: Session, registry, actor_id: int, case_id: int) -> None:
    """Record the outcome of the case's planned meeting in session, leaving its transaction open."""
    case, actor = session.get(SipCase, case_id), session.get(User, actor_id)
    at = support.FIXED_NOW + timedelta(minutes=5)
    form = registry.get(case.workflow_name, case.workflow_version).transition(case.state, "hold_meeting").form
    data = scripted_input(session, case, form, at)
    fire_scripted(session, registry, actor, case, "hold_meeting", now=at, data=data)


def _book_follow_up(app, registry, actor_id, case_id, version, invitee_id, outcome: list) -> None:
    """Book another meeting of the case outside a step, as the booking page does; outcome gets the result."""
    starts_at = next_week_at(14)
    data = {
        "meeting_starts_at": starts_at,
        "meeting_ends_at": starts_at + timedelta(hours=1),
        "mode": "video",
        "invitee_ids": [invitee_id],
    }
    try:
        with app.app_context(), Session(app.extensions["sipflow.engine"], expire_on_commit=False) as session:
            case, actor = session.get(SipCase, case_id), session.get(User, actor_id)
            with unit_of_work(session):
                meeting_id = meetings.book(
                    session, registry, actor, case, data, expected_version=version, now=support.FIXED_NOW
                )
            outcome.append(meeting_id)
    except Exception as error:  # noqa: BLE001 (the test asserts which)
        outcome.append(error)


@contextmanager
def _first_write_of_another_thread(engine) -> Iterator[threading.Event]:
    """An event set when a thread other than this one is about to send a write to engine."""
    here, event = threading.get_ident(), threading.Event()

    def seen(_conn, _cursor, statement, *_args) -> None:
        if threading.get_ident() != here and statement.lstrip()[:6].upper() in ("INSERT", "UPDATE"):
            event.set()

    sa_event.listen(engine, "before_cursor_execute", seen)
    try:
        yield event
    finally:
        sa_event.remove(engine, "before_cursor_execute", seen)


def test_a_booking_outside_a_step_waits_for_the_step_and_no_reminder_is_lost(
    app, engine, db_session, registry, parties, book, ready
):
    first = book(invitee_ids=[ready.municipality.id, ready.relative.id])
    case_id, actor_id = ready.case.id, parties.region_user.id
    version = db_session.get(SipCase, case_id).version
    outcome: list = []
    with (
        _first_write_of_another_thread(engine) as booking_writes,
        Session(engine, expire_on_commit=False) as stepping,
    ):
        _hold_meeting_uncommitted(stepping, registry, actor_id, case_id)
        booking = threading.Thread(
            target=_book_follow_up,
            args=(app, registry, actor_id, case_id, version, ready.municipality.id, outcome),
        )
        booking.start()
        if engine.dialect.name == "sqlite":
            # SQLite cannot say who waits for its lock: wait until the booking, its case read before the
            # step's commit, sends its first write (which waits for the step's write lock).
            assert booking_writes.wait(WAIT_SECONDS), f"the booking did not write: {outcome}"
            assert booking.is_alive(), f"the booking did not wait for the step: {outcome}"
        else:
            # Poll for the state, not for a time: the booking waits for the case's row, or is done.
            deadline = time.monotonic() + WAIT_SECONDS
            while booking.is_alive() and not support.waiting_on_a_lock(engine):
                assert time.monotonic() < deadline, "the booking neither waited nor finished"
                time.sleep(0.01)
            assert booking.is_alive(), f"the booking did not wait for the step: {outcome}"
        stepping.commit()
    booking.join(WAIT_SECONDS)
    assert not booking.is_alive()
    [result] = outcome
    db_session.expire_all()
    # It saw the SIP as the step left it, as a booking begun after the step would have.
    assert isinstance(result, StaleCase), result
    assert db_session.get(Meeting, first.id).status != PLANNED
    planned = db_session.exec(select(Meeting).where(Meeting.case_id == case_id, Meeting.status == PLANNED))
    for meeting in planned.all():
        rows = reminders(engine, meeting_id=meeting.id, kind=MEETING_TOMORROW)
        assert rows and all(r.status == PENDING for r in rows), "a planned meeting lost its reminders"
