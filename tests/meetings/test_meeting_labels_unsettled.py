"""A booked meeting is labelled by its kind only once that is settled: before any meeting of the SIP has
been held, nobody knows which booked meeting will be the first, so each is "Möte" with its date (tester:
the meeting booked last, but earliest, was called "Första mötet" and the kallelse meeting "Uppföljning 2")."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from sqlmodel import select
from webkit import fill, forms_of, login, text_of

from sipflow.cases.models import SipCase
from sipflow.clock import local_to_utc, now_utc, to_local
from sipflow.db import unit_of_work
from sipflow.meetings import services as meeting_services
from sipflow.meetings.models import Meeting
from sipflow.meetings.outcome import meeting_labels


def _at(year: int, month: int, day: int) -> datetime:
    return local_to_utc(datetime(year, month, day, 10, 0))


def _shown(moment: datetime) -> str:
    return to_local(moment).strftime("%Y-%m-%d %H:%M")


def _book_more(db_session, registry, parties, ready, starts_at: datetime) -> None:
    with unit_of_work(db_session):
        case = db_session.get(SipCase, ready.case.id)
        meeting_services.book(
            db_session,
            registry,
            parties.region_user,
            case,
            {
                "meeting_starts_at": starts_at,
                "meeting_ends_at": starts_at + timedelta(hours=1),
                "mode": "video",
                "invitee_ids": [ready.region.id],
            },
            expected_version=case.version,
            now=now_utc(),
        )


def test_the_testers_bookings_are_each_a_meeting_with_its_date(
    client, db_session, registry, parties, ready, book
):
    kallelse = book(meeting_starts_at=_at(2027, 1, 19), meeting_ends_at=_at(2027, 1, 19) + timedelta(hours=1))
    login(client, parties.region_user.username)
    url = f"/cases/{ready.case.uid}/meetings/{kallelse.id}"
    form = forms_of(text_of(client.get(url)))[f"{url}/change"]
    moved = client.post(f"{url}/change", data=fill(form, **{"change-date": "2027-01-26"}))
    assert moved.status_code == 303, text_of(moved)
    for day in (2, 9, 16, 23):
        _book_more(db_session, registry, parties, ready, _at(2027, 2, day))
    _book_more(db_session, registry, parties, ready, _at(2027, 1, 12))
    db_session.expire_all()
    meetings = db_session.exec(select(Meeting).where(Meeting.case_id == ready.case.id)).all()
    assert len(meetings) == 6
    assert db_session.get(Meeting, kallelse.id).starts_at == _at(2027, 1, 26)

    assert set(meeting_labels(meetings).values()) == {"Möte"}
    case_page = text_of(client.get(f"/cases/{ready.case.uid}"))
    outcome = text_of(client.get(f"/cases/{ready.case.uid}/meetings/outcome"))
    for page in (case_page, outcome):
        assert "Första mötet" not in page
        assert not re.search(r"Uppföljning \d", page)
    for meeting in meetings:
        assert f"Möte, {_shown(meeting.starts_at)}" in case_page
        assert f"Möte, {_shown(meeting.starts_at)}" in outcome  # the picker's choice
    detail = text_of(client.get(url))
    assert f"Möte, {_shown(_at(2027, 1, 26))}" in detail


def test_held_meetings_are_first_and_follow_ups_and_booked_ones_follow_on(app_ctx):
    def meeting(id_, day, status):
        found = Meeting(
            id=id_, case_id=1, mode="video", starts_at=_at(2027, 1, day), ends_at=_at(2027, 1, day)
        )
        found.status = status
        return found

    never_recorded = meeting(1, 5, "planned")  # booked before the first, never recorded held
    first = meeting(2, 12, "held")
    second = meeting(3, 19, "held")
    cancelled = meeting(4, 20, "cancelled")
    booked = [meeting(5, 26, "planned"), meeting(6, 28, "planned")]
    labels = meeting_labels([*booked, cancelled, second, first, never_recorded])
    assert labels[first.id] == "Första mötet"
    assert labels[second.id] == "Uppföljning 1"
    assert labels[cancelled.id] == "Inställt möte"
    # once a meeting is held every other is a follow-up: numbered on from the held ones, by start time
    follow_ups = ["Uppföljning 2", "Uppföljning 3", "Uppföljning 4"]
    assert [labels[m.id] for m in (never_recorded, *booked)] == follow_ups
