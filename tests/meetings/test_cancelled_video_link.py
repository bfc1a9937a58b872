"""A cancelled meeting offers no video link: not on the case page, not on the meeting's own page.

The invitees' calendars and the answer page already leave it out once the meeting is cancelled (the link
leads nowhere anyone should go); the staff pages showed it still, clickable, beside "Inställt".
"""

from __future__ import annotations

import re

from webkit import login, text_of

from sipflow.clock import now_utc
from sipflow.db import unit_of_work
from sipflow.meetings import services


def meetings_section(page: str) -> str:
    return re.search(r'<section class="card" aria-labelledby="h-meetings">.*?</section>', page, re.S)[0]


def test_a_cancelled_meeting_shows_no_video_link(client, db_session, parties, ready, book):
    meeting = book()
    login(client, parties.region_user.username)
    case_url, meeting_url = f"/cases/{ready.case.uid}", f"/cases/{ready.case.uid}/meetings/{meeting.id}"
    assert meeting.video_url and meeting.video_url in meetings_section(text_of(client.get(case_url)))
    assert meeting.video_url in text_of(client.get(meeting_url))

    with unit_of_work(db_session):
        services.cancel_meeting(db_session, ready.case, meeting, now=now_utc())

    section = meetings_section(text_of(client.get(case_url)))
    assert "Inställt" in section and meeting.video_url not in section
    page = text_of(client.get(meeting_url))
    assert "Inställt" in page and meeting.video_url not in page
