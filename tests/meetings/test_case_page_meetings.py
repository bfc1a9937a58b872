"""The case page's meetings: each once, oldest first, with who attended it and how, and its invitations."""

from __future__ import annotations

from datetime import timedelta

from meetingkit import fire, next_week_at
from sqlmodel import select

from sipflow.db import unit_of_work
from sipflow.meetings import services
from sipflow.meetings.models import Attendance
from sipflow.meetings.queries import case_meetings


def test_each_meeting_once_oldest_first_with_its_attendance(db_session, registry, parties, ready, book):
    held = book(invitee_ids=[ready.municipality.id, ready.relative.id])
    fire(db_session, registry, parties.region_user, ready.case, "hold_meeting")
    starts_at = next_week_at(15)
    booking = {
        "meeting_starts_at": starts_at,
        "meeting_ends_at": starts_at + timedelta(hours=1),
        "mode": "video",
        "invitee_ids": [ready.person.id],
    }
    with unit_of_work(db_session):
        planned_id = services.book(
            db_session,
            registry,
            parties.region_user,
            ready.case,
            booking,
            expected_version=ready.case.version,
            now=starts_at - timedelta(days=6),
        )
    attended = db_session.exec(
        select(Attendance).where(Attendance.meeting_id == held.id).order_by(Attendance.participant_id)
    ).all()
    assert len(attended) >= 2
    names = {p_id: f"name {p_id}" for p_id in (a.participant_id for a in attended)}

    views = case_meetings(db_session, ready.case, names)

    assert [v.meeting.id for v in views] == [held.id, planned_id]
    assert views[0].attendance == [(f"name {a.participant_id}", a.mode) for a in attended]
    assert views[1].attendance == []
    assert [len(v.invitations) for v in views] == [2, 1]
