"""The case page's meetings: each once, oldest first, with who attended it and how, and its invitations."""

from __future__ import annotations

import re
from datetime import timedelta

from meetingkit import fire, next_week_at
from sqlmodel import select
from webkit import login, text_of

from sipflow.cases import services as case_services
from sipflow.clock import now_utc
from sipflow.db import unit_of_work
from sipflow.meetings import services
from sipflow.meetings.models import Attendance
from sipflow.meetings.queries import case_meetings, participant_labels


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


def test_the_case_page_names_an_attendee_removed_since_as_the_meeting_page_does(
    client, db_session, registry, parties, ready, book
):
    held = book(invitee_ids=[ready.municipality.id, ready.relative.id])
    fire(db_session, registry, parties.region_user, ready.case, "hold_meeting")
    db_session.refresh(ready.case)
    with unit_of_work(db_session):
        case_services.remove_participant(
            db_session,
            registry,
            ready.case,
            parties.region_user,
            ready.municipality.id,
            reason="Behövs inte längre",
            now=now_utc(),
            expected_version=ready.case.version,
        )
    label = participant_labels(db_session, ready.case)[ready.municipality.id]
    assert label.startswith("Växjö kommun")
    assert login(client, parties.region_user.username).status_code == 302

    meeting_page = text_of(client.get(f"/cases/{ready.case.uid}/meetings/{held.id}"))
    case_page = text_of(client.get(f"/cases/{ready.case.uid}"))

    assert label in meeting_page
    attendance = re.search(r"Närvaro:(.*?)</li>", case_page, re.S)[1]
    assert f"{label} (" in attendance
    assert "?" not in attendance
