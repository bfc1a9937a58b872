"""The meeting page does not show the calendar SEQUENCE as "Ändrad N gånger" (tester: one invitation
withdrawn, the meeting held at another time or cancelled raised it, though nobody moved or edited the
meeting); it says when the invitees were last sent an update, once they were."""

from __future__ import annotations

from datetime import timedelta

from meetingkit import invitation_of
from webkit import login, text_of

from sipflow.clock import now_utc, to_local
from sipflow.db import unit_of_work
from sipflow.meetings import services
from sipflow.meetings.booking import Booking
from sipflow.meetings.models import Meeting

LINE = "Senaste uppdateringen till de inbjudna"


def _page(client, ready, meeting) -> str:
    return text_of(client.get(f"/cases/{ready.case.uid}/meetings/{meeting.id}"))


def test_the_page_shows_no_count_of_updates_but_when_the_last_was_sent(
    client, db_session, frozen_clock, parties, ready, book
):
    meeting = book()
    assert login(client, parties.region_user.username).status_code == 302
    page = _page(client, ready, meeting)
    assert LINE not in page
    # One invitee withdrawn: nobody changed the meeting, and the page counts nothing.
    frozen_clock.advance(timedelta(minutes=20))
    withdrawn_at = now_utc()
    with unit_of_work(db_session):
        services.uninvite(
            db_session,
            ready.case,
            meeting,
            invitation_of(db_session, meeting, ready.relative),
            now=withdrawn_at,
        )
    page = _page(client, ready, meeting)
    assert "Ändrad" not in page and "en gång" not in page
    assert LINE in page and to_local(withdrawn_at).strftime("%Y-%m-%d %H:%M") in page
    # Moved a day later: the line says when, still no count.
    frozen_clock.advance(timedelta(minutes=25))
    moved_at = now_utc()
    meeting = db_session.get(Meeting, meeting.id)
    starts = meeting.starts_at + timedelta(days=1)
    with unit_of_work(db_session):
        services.change_meeting(
            db_session,
            ready.case,
            meeting,
            Booking(starts, starts + timedelta(hours=1), meeting.mode, meeting.location, meeting.room),
            now=moved_at,
            confirmed_day=to_local(starts).date(),
            confirmed_start=starts,
        )
    db_session.expire_all()
    assert db_session.get(Meeting, meeting.id).sequence == 2
    page = _page(client, ready, meeting)
    assert "2 gånger" not in page
    assert to_local(moved_at).strftime("%Y-%m-%d %H:%M") in page
