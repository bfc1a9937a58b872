"""Whatever attendance is recorded, the meeting stores the classification SIP.md §5 gives it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import select

from sipflow.cases import services
from sipflow.clock import now_utc
from sipflow.errors import InvalidInput
from sipflow.meetings.models import ATTENDANCE_MODES, CARER_SUPPORT_ANSWERS, Attendance, Meeting
from sipflow.meetings.outcome import classify

MODES = st.sampled_from(ATTENDANCE_MODES)
# Hypothesis draws many examples per test; each runs in a transaction that is rolled back.
EXAMPLES = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture
def booked(book, frozen_clock) -> Meeting:
    """A booked meeting, the clock an hour after it started (once per test, shared by its examples)."""
    meeting = book()
    frozen_clock.set(meeting.starts_at + timedelta(hours=1))
    return meeting


def attended(db_session, meeting_id: int) -> dict[int, Attendance]:
    return {
        a.participant_id: a
        for a in db_session.exec(select(Attendance).where(Attendance.meeting_id == meeting_id)).all()
    }


def record(db_session, registry, actor, case, meeting, **data):
    """Fire the meeting-outcome step without committing; the caller rolls back."""
    return services.fire_transition(
        db_session,
        registry,
        actor,
        case,
        "hold_meeting",
        expected_version=case.version,
        now=now_utc(),
        data={"meeting_id": meeting.id, "held_at": meeting.starts_at, "no_change_reason": "Inget ändras"}
        | data,
    )


@EXAMPLES
@given(
    modes=st.lists(MODES, min_size=5, max_size=5), recorded=st.lists(st.booleans(), min_size=5, max_size=5)
)
def test_the_stored_classification_is_the_one_the_attendance_gives(
    db_session, registry, parties, ready, booked, modes, recorded
):
    meeting = booked
    ids = [
        ready.region.id,
        ready.municipality.id,
        ready.person.id,
        ready.relative.id,
        ready.relative_without_email.id,
    ]
    attendance = {pid: mode for pid, mode, kept in zip(ids, modes, recorded, strict=True) if kept}
    try:
        log = record(db_session, registry, parties.region_user, ready.case, meeting, attendance=attendance)
        stored = db_session.get(Meeting, log.details["meeting_id"])
        assert stored.classification == classify(attendance.values())
        rows = {pid: a.mode for pid, a in attended(db_session, stored.id).items()}
        assert rows == attendance
    finally:
        db_session.rollback()


@EXAMPLES
@given(answers=st.dictionaries(st.integers(0, 4), st.sampled_from(CARER_SUPPORT_ANSWERS), max_size=5))
def test_carer_support_is_taken_only_from_a_närstående_who_attended(
    db_session, registry, parties, ready, booked, answers
):
    meeting = booked
    ids = [
        ready.region.id,
        ready.municipality.id,
        ready.person.id,
        ready.relative.id,
        ready.relative_without_email.id,
    ]
    relatives = {ready.relative.id, ready.relative_without_email.id}
    carer_support = {ids[i]: answer for i, answer in answers.items()}
    attendance = {pid: "video" for pid in ids}
    try:
        if set(carer_support) <= relatives:
            log = record(
                db_session,
                registry,
                parties.region_user,
                ready.case,
                meeting,
                attendance=attendance,
                carer_support=carer_support,
            )
            stored = {
                pid: a.carer_support for pid, a in attended(db_session, log.details["meeting_id"]).items()
            }
            assert {pid: answer for pid, answer in stored.items() if answer} == carer_support
        else:
            try:
                record(
                    db_session,
                    registry,
                    parties.region_user,
                    ready.case,
                    meeting,
                    attendance=attendance,
                    carer_support=carer_support,
                )
            except InvalidInput as refused:
                assert refused.field == "carer_support"
            else:
                raise AssertionError("carer support for someone who is not a närstående was accepted")
    finally:
        db_session.rollback()
