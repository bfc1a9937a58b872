"""A meeting changed by two people at once: the outcome recorded (held, or held at another time) while a
colleague cancels or moves the meeting. Whichever writes second read the meeting before the other's change
and is refused as a conflict (409) with nothing written, never a meeting both held and cancelled, nor two
changes under one SEQUENCE.

Each race is played in order, deterministically: one session reads the meeting (as a page's POST does
before its claim), ends its read transaction keeping the objects (as PostgreSQL's read committed lets a
later statement see another's commit), a second session changes the meeting and commits, then the first
writes.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from meetingkit import fire
from sqlmodel import Session, func, select

from sipflow.cases.models import SipCase, TransitionLog
from sipflow.clock import now_utc
from sipflow.coding.models import CodeRecord
from sipflow.db import unit_of_work
from sipflow.meetings import services
from sipflow.meetings.booking import Booking
from sipflow.meetings.models import CANCELLED, HELD, Attendance, Meeting, MeetingDecision
from sipflow.meetings.outcome import case_meetings_in_order

pytestmark = pytest.mark.db

# The refusal says what the meeting became meanwhile.
CANCELLED_MESSAGE = "Mötet har ställts in; det går inte längre att ändra."
HELD_MESSAGE = "Mötet har redan hållits och dess utfall är registrerat; det går inte längre att ändra."


def _read_then_pause(session: Session, case) -> Meeting:
    """The case's meetings read as a page's POST reads them before its step, the read transaction ended."""
    (meeting,) = case_meetings_in_order(session, case)
    session.commit()  # expire_on_commit=False: the objects keep what was read
    return meeting


def _nothing_recorded(db_session, case, meeting_id: int) -> None:
    db_session.expire_all()
    count = lambda model, *where: db_session.exec(select(func.count()).select_from(model).where(*where)).one()  # noqa: E731
    assert (
        count(TransitionLog, TransitionLog.case_id == case.id, TransitionLog.trigger == "hold_meeting") == 0
    )
    assert count(Attendance, Attendance.meeting_id == meeting_id) == 0
    assert count(MeetingDecision, MeetingDecision.meeting_id == meeting_id) == 0
    assert count(CodeRecord, CodeRecord.meeting_id == meeting_id) == 0


def _moved_a_day(meeting: Meeting) -> Booking:
    return Booking(
        starts_at=meeting.starts_at + timedelta(days=1),
        ends_at=meeting.ends_at + timedelta(days=1),
        mode=meeting.mode,
        location=meeting.location,
        room=meeting.room,
    )


def test_an_outcome_after_a_cancellation_it_did_not_see_is_refused(
    db_session, engine, registry, parties, ready, book
):
    booked = book()
    meeting = _read_then_pause(db_session, ready.case)
    with Session(engine, expire_on_commit=False) as other, unit_of_work(other):
        services.cancel_meeting(
            other,
            other.get(SipCase, ready.case.id),
            other.get(Meeting, booked.id),
            now=now_utc(),
            expected_sequence=0,
        )

    # The scripted outcome: held now, "the meeting was moved" ticked, attendance and one decision.
    with pytest.raises(services.MeetingClosed) as refused:
        fire(db_session, registry, parties.region_user, ready.case, "hold_meeting", meeting_id=meeting.id)
    assert refused.value.status == 409 and str(refused.value.message) == CANCELLED_MESSAGE
    db_session.expire_all()
    kept = db_session.get(Meeting, booked.id)
    assert kept.status == CANCELLED and kept.held_at is None and kept.sequence == 1
    _nothing_recorded(db_session, ready.case, booked.id)


def test_an_outcome_held_elsewhere_after_a_move_it_did_not_see_is_refused(
    db_session, engine, registry, parties, ready, book
):
    booked = book()
    booked_at = booked.starts_at
    meeting = _read_then_pause(db_session, ready.case)
    with Session(engine, expire_on_commit=False) as other, unit_of_work(other):
        moving = other.get(Meeting, booked.id)
        assert services.change_meeting(
            other,
            other.get(SipCase, ready.case.id),
            moving,
            _moved_a_day(moving),
            now=now_utc(),
            expected_sequence=0,
        )

    with pytest.raises(services.StaleMeeting) as refused:
        fire(db_session, registry, parties.region_user, ready.case, "hold_meeting", meeting_id=meeting.id)
    assert refused.value.status == 409
    db_session.expire_all()
    kept = db_session.get(Meeting, booked.id)
    assert kept.status != HELD and kept.sequence == 1
    assert kept.starts_at == booked_at + timedelta(days=1)
    _nothing_recorded(db_session, ready.case, booked.id)


def test_a_cancellation_after_an_outcome_it_did_not_see_is_refused(
    db_session, engine, registry, parties, ready, book, frozen_clock
):
    booked = book()
    # Recorded as held at its booked time: nobody is mailed, its SEQUENCE stays as it was.
    frozen_clock.set(booked.starts_at + timedelta(hours=1))
    with Session(engine, expire_on_commit=False) as other:
        seen = other.get(Meeting, booked.id)
        other.commit()
        fire(
            db_session,
            registry,
            parties.region_user,
            ready.case,
            "hold_meeting",
            meeting_id=booked.id,
            held_at=booked.starts_at,
            moved=False,
        )
        with pytest.raises(services.MeetingClosed) as refused, unit_of_work(other):
            services.cancel_meeting(
                other, other.get(SipCase, ready.case.id), seen, now=now_utc(), expected_sequence=0
            )
    assert str(refused.value.message) == HELD_MESSAGE
    db_session.expire_all()
    kept = db_session.get(Meeting, booked.id)
    assert kept.status == HELD and kept.cancelled_at is None


def test_a_move_after_an_outcome_held_elsewhere_it_did_not_see_is_refused(
    db_session, engine, registry, parties, ready, book
):
    booked = book()
    with Session(engine, expire_on_commit=False) as other:
        seen = other.get(Meeting, booked.id)
        other.commit()
        fire(db_session, registry, parties.region_user, ready.case, "hold_meeting", meeting_id=booked.id)
        with pytest.raises(services.MeetingClosed) as refused, unit_of_work(other):
            services.change_meeting(
                other,
                other.get(SipCase, ready.case.id),
                seen,
                _moved_a_day(seen),
                now=now_utc(),
                expected_sequence=0,
            )
    db_session.expire_all()
    assert str(refused.value.message) == HELD_MESSAGE
    kept = db_session.get(Meeting, booked.id)
    assert kept.status == HELD and kept.sequence == 1 and kept.starts_at == now_utc()
