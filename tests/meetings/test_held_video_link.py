"""A held meeting offers no video link: its link leads to a meeting that is over.

The case page, the meeting's own page and the calendar feed still say it was by video (its mode), but no
longer hand out the link to join; nor does the mail that moves the invitees' entries to when a meeting
was held. A planned meeting offers its link everywhere.
"""

from __future__ import annotations

import email
import email.policy
import re
from datetime import timedelta

import pytest
from icalendar import Calendar
from meetingkit import fire
from sqlmodel import select
from webkit import login, text_of

from sipflow.clock import now_utc
from sipflow.db import unit_of_work
from sipflow.meetings import services
from sipflow.meetings.models import HELD, Meeting
from sipflow.notifications.models import OutboxMessage

pytestmark = pytest.mark.db

VIDEO_LINK = "Videolänk"


def meetings_section(page: str) -> str:
    return re.search(r'<section class="card" aria-labelledby="h-meetings">.*?</section>', page, re.S)[0]


def meeting_card(page: str) -> str:
    return re.search(r'<section class="card" aria-labelledby="h-meeting">.*?</section>', page, re.S)[0]


def feed_event(client, meeting: Meeting):
    """The meeting's VEVENT in the logged-in user's calendar feed (the address the account page shows)."""
    page = text_of(client.get("/account/calendar"))
    start = page.index('value="http') + len('value="')
    path = "/" + page[start : page.index('"', start)].split("://", 1)[1].split("/", 1)[1]
    feed = Calendar.from_ical(client.get(path).data)
    (event,) = [e for e in feed.walk("VEVENT") if str(e["UID"]) == meeting.uid]
    return event


def decoded(row: OutboxMessage) -> str:
    """Every part of an outbox message as text: the plain and HTML mail and the calendar object."""
    parsed = email.message_from_string(row.message, policy=email.policy.default)
    return "\n".join(str(part.get_content()) for part in parsed.walk() if not part.is_multipart())


def test_a_held_video_meeting_shows_its_mode_but_no_link_on_the_pages_and_in_the_feed(
    client, db_session, registry, parties, ready, book, frozen_clock
):
    meeting = book(mode="video")
    link = meeting.video_url
    assert link
    # An hour after it began: planned still, until its outcome is recorded.
    frozen_clock.set(meeting.starts_at + timedelta(hours=1))
    login(client, parties.region_user.username)
    case_url, meeting_url = f"/cases/{ready.case.uid}", f"/cases/{ready.case.uid}/meetings/{meeting.id}"

    # Planned: the link is offered to join, on both pages and in the feed.
    section = meetings_section(text_of(client.get(case_url)))
    assert VIDEO_LINK in section and f'href="{link}"' in section
    card = meeting_card(text_of(client.get(meeting_url)))
    assert VIDEO_LINK in card and f'href="{link}"' in card
    event = feed_event(client, meeting)
    assert str(event["URL"]) == link and link in str(event["LOCATION"])

    # Recorded as held at its booked time.
    fire(
        db_session,
        registry,
        parties.region_user,
        ready.case,
        "hold_meeting",
        meeting_id=meeting.id,
        held_at=meeting.starts_at,
        moved=False,
        mode="video",
    )
    db_session.expire_all()
    held = db_session.get(Meeting, meeting.id)
    assert (held.status, held.mode, held.video_url) == (HELD, "video", link)  # kept, as the record

    section = meetings_section(text_of(client.get(case_url)))
    assert "Hållet" in section and "(Video)" in section
    assert link not in section and VIDEO_LINK not in section
    page = text_of(client.get(meeting_url))
    card = meeting_card(page)
    assert "<dt>Mötesform</dt><dd>Video</dd>" in card and VIDEO_LINK not in card
    assert link not in page
    event = feed_event(client, meeting)
    assert "URL" not in event and link not in str(event.get("LOCATION", ""))


def test_the_mail_moving_a_held_meetings_entries_offers_no_link(db_session, ready, book, frozen_clock):
    """Held before its booked time: every invitee's entry moves to when it was held, without the link."""
    meeting = book(mode="video")
    link = meeting.video_url
    requests = db_session.exec(select(OutboxMessage).where(OutboxMessage.kind == "request")).all()
    assert requests and all(link in decoded(row) for row in requests)
    before = {row.id for row in db_session.exec(select(OutboxMessage)).all()}

    frozen_clock.set(meeting.starts_at - timedelta(days=3))
    held_at = (meeting.starts_at - timedelta(days=3, hours=2)).replace(second=0, microsecond=0)
    with unit_of_work(db_session):
        assert services.move_to_held_time(db_session, ready.case, meeting, held_at, now=now_utc())

    sent = [row for row in db_session.exec(select(OutboxMessage)).all() if row.id not in before]
    assert sent
    for row in sent:
        text = decoded(row)
        assert "hölls vid en annan tid" in text
        assert link not in text and VIDEO_LINK not in text
