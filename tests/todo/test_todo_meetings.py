"""Att göra's meetings to book or record: a called SIP without a meeting, or a meeting past without outcome.

Without the section such a SIP fell through: its kallelse deadline was met, and nothing listed it.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import support
from sqlmodel import select
from webkit import FreshContextClient, login, text_of

from sipflow.cases.models import Deadline, SipCase
from sipflow.db import unit_of_work
from sipflow.meetings.booking import Booking
from sipflow.meetings.models import PLANNED, Meeting
from sipflow.meetings.services import book_meeting, cancel_meeting
from sipflow.people.models import Person
from sipflow.todo import queries

pytestmark = pytest.mark.usefixtures("frozen_clock")


@pytest.fixture
def as_region(client, parties):
    assert login(client, parties.region_user.username).status_code == 302
    return client


@pytest.fixture
def called(db_session, registry, parties, create_case, now):
    """Factory: a SIP whose kallelse is sent, its meeting booked a week ahead; the deadlines met."""

    def make(workflow: str = "sip"):
        case = create_case(workflow)
        for trigger in ("give_consent", "start_preparation", "send_kallelse"):
            support.fire(db_session, registry, parties.region_user, case, trigger, now=now)
        for deadline in db_session.exec(select(Deadline).where(Deadline.case_id == case.id)).all():
            deadline.met_at = deadline.met_at or now
            db_session.add(deadline)
        db_session.commit()
        return case

    return make


def meeting_of(db_session, case) -> Meeting:
    return db_session.exec(select(Meeting).where(Meeting.case_id == case.id, Meeting.status == PLANNED)).one()


def cancel_the_meeting(db_session, case, now):
    with unit_of_work(db_session):
        cancel_meeting(db_session, case, meeting_of(db_session, case), now=now)


def move_the_meeting(db_session, case, starts_at):
    """The booked meeting now at starts_at (as if its time had come)."""
    meeting = meeting_of(db_session, case)
    meeting.starts_at, meeting.ends_at = starts_at, starts_at + timedelta(hours=1)
    db_session.add(meeting)
    db_session.commit()


def section_html(page: str) -> str:
    found = re.search(r'<section class="card todo-section" id="todo-meetings".*?</section>', page, re.S)
    assert found, page
    return found.group(0)


def order_of(html: str, cases) -> list[str]:
    """The references of cases in the order html shows them."""
    positions = {case.reference: html.find(case.reference) for case in cases if case.reference in html}
    return sorted(positions, key=positions.get)


def row_of(html: str, case) -> str:
    found = re.search(rf"<tr>(?:(?!</tr>).)*{re.escape(case.reference)}.*?</tr>", html, re.S)
    assert found, (case.reference, html)
    return found.group(0)


def test_a_called_sip_whose_only_meeting_is_cancelled_is_listed_as_without_a_meeting(
    as_region, db_session, called, now
):
    case = called()
    cancel_the_meeting(db_session, case, now)
    html = section_html(text_of(as_region.get("/")))
    assert "Möten att boka eller registrera" in html
    row = row_of(html, case)
    assert "Inget möte bokat" in row
    assert f'href="/cases/{case.uid}"' in row  # where a new meeting is booked
    person = db_session.get(Person, case.person_id)
    assert f"{person.given_name} {person.family_name}" in row


def test_a_kallelse_recorded_without_a_meeting_is_listed_until_one_is_booked(
    as_region, db_session, registry, parties, create_case, now
):
    case = create_case()
    for trigger in ("give_consent", "start_preparation"):
        support.fire(db_session, registry, parties.region_user, case, trigger, now=now)
    # Sent through another system, which holds the meeting: sipflow knows of none.
    support.fire(
        db_session, registry, parties.region_user, case, "send_kallelse", now=now, meeting_starts_at=None
    )
    assert "Inget möte bokat" in row_of(section_html(text_of(as_region.get("/"))), case)
    starts_at = now + timedelta(days=3)
    with unit_of_work(db_session):
        book_meeting(
            db_session,
            case,
            parties.region_user,
            Booking(starts_at, starts_at + timedelta(hours=1), "video", None, None),
            now=now,
            send=False,
        )
    assert case.reference not in section_html(text_of(as_region.get("/")))
    db_session.expire_all()
    assert db_session.get(SipCase, case.id).unbooked_since is None


def test_a_sip_whose_meeting_was_called_off_leaves_the_list_when_it_ends(
    as_region, db_session, registry, parties, called, now
):
    case = called()
    cancel_the_meeting(db_session, case, now)
    support.fire(db_session, registry, parties.region_user, case, "withdraw_consent", now=now)
    db_session.expire_all()
    # Its flag goes with it, so the index of SIPs without a meeting keeps only those still waiting.
    assert db_session.get(SipCase, case.id).unbooked_since is None


def test_a_sip_with_a_meeting_ahead_is_not_listed(as_region, db_session, called, now):
    booked, rebooked = called(), called()
    move_the_meeting(db_session, rebooked, now + timedelta(days=1))
    html = section_html(text_of(as_region.get("/")))
    assert booked.reference not in html and rebooked.reference not in html
    assert "Alla kallade SIP har ett bokat möte" in html


def test_a_meeting_begun_without_its_outcome_is_listed_oldest_first(as_region, db_session, called, now):
    yesterday, just_now, cancelled = called(), called(), called()
    move_the_meeting(db_session, yesterday, now - timedelta(days=1))
    move_the_meeting(db_session, just_now, now - timedelta(minutes=5))
    cancel_the_meeting(db_session, cancelled, now)
    html = section_html(text_of(as_region.get("/")))
    assert "Resultat ej registrerat" in row_of(html, yesterday)
    assert "Resultat ej registrerat" in row_of(html, just_now)
    assert "Inget möte bokat" in row_of(html, cancelled)
    # Since when each waits: the meetings' starts, then the case whose meeting was called off.
    assert html.index(yesterday.reference) < html.index(just_now.reference) < html.index(cancelled.reference)
    # Recorded the day it was held is in time; yesterday's meeting is late.
    assert '<strong class="overdue">' in row_of(html, yesterday)
    assert '<strong class="overdue">' not in row_of(html, just_now)


def test_a_held_meeting_and_a_sip_moved_on_are_not_listed(
    as_region, db_session, registry, parties, called, now
):
    held = called()
    move_the_meeting(db_session, held, now - timedelta(hours=2))
    support.fire(db_session, registry, parties.region_user, held, "hold_meeting", now=now)
    html = section_html(text_of(as_region.get("/")))
    assert held.reference not in html
    # The plan is established, its follow-up not yet booked: not a meeting due now.
    support.fire(db_session, registry, parties.region_user, held, "establish_plan", now=now)
    assert held.reference not in section_html(text_of(as_region.get("/")))


def test_a_follow_up_meeting_past_without_its_outcome_is_listed(
    as_region, db_session, registry, parties, called, now
):
    case = called()
    support.fire(db_session, registry, parties.region_user, case, "hold_meeting", now=now)
    support.fire(db_session, registry, parties.region_user, case, "establish_plan", now=now)
    db_session.add(
        Meeting(
            case_id=case.id,
            kind="follow_up",
            mode="video",
            starts_at=now - timedelta(days=3),
            ends_at=now - timedelta(days=3) + timedelta(hours=1),
        )
    )
    db_session.commit()
    assert "Resultat ej registrerat" in row_of(section_html(text_of(as_region.get("/"))), case)


def test_a_sip_that_ended_is_not_listed(as_region, db_session, registry, parties, called, now):
    cancelled, withdrawn = called(), called()
    support.fire(db_session, registry, parties.region_user, cancelled, "cancel", now=now)
    support.fire(db_session, registry, parties.region_user, withdrawn, "withdraw_consent", now=now)
    html = section_html(text_of(as_region.get("/")))
    assert cancelled.reference not in html and withdrawn.reference not in html


def test_an_organisation_that_does_not_see_the_sip_is_not_shown_it(app, db_session, parties, called, now):
    without_meeting, unrecorded = called(), called()
    cancel_the_meeting(db_session, without_meeting, now)
    move_the_meeting(db_session, unrecorded, now - timedelta(days=1))
    client = FreshContextClient(app, app.response_class, use_cookies=True)
    assert login(client, parties.outsider_user.username).status_code == 302
    html = section_html(text_of(client.get("/")))
    assert without_meeting.reference not in html and unrecorded.reference not in html


def test_the_section_pages_both_kinds_by_cursor(as_region, db_session, parties, called, now, monkeypatch):
    monkeypatch.setattr(queries, "OVERVIEW_ROWS", 2)
    monkeypatch.setattr(queries, "PER_PAGE", 3)
    cases = [called() for _ in range(7)]
    # Alternately a meeting begun and a meeting called off, each an hour older than the next.
    for number, case in enumerate(cases):
        since = now - timedelta(hours=len(cases) - number)
        if number % 2:
            move_the_meeting(db_session, case, since)
            continue
        cancel_the_meeting(db_session, case, since)
    db_session.commit()
    overview = section_html(text_of(as_region.get("/")))
    assert overview.count("<tr>") == 2 + 1  # the head and the rows
    url = re.search(r'rel="next" href="(/todo/meetings)"', overview).group(1)
    pages = []
    while url:
        page = section_html(text_of(as_region.get(url)))
        pages.append(order_of(page, cases))
        found = re.search(r'rel="next" href="([^"]+)"', page)
        url = found.group(1).replace("&amp;", "&") if found else None
    # Oldest first, each once, whichever kind, three to a page.
    assert pages == [[c.reference for c in cases[i : i + 3]] for i in (0, 3, 6)]


def test_the_section_speaks_english_for_english_users(as_region, db_session, called, now):
    without_meeting, unrecorded = called(), called()
    cancel_the_meeting(db_session, without_meeting, now)
    move_the_meeting(db_session, unrecorded, now - timedelta(days=1))
    html = section_html(text_of(as_region.get("/?lang=en")))
    assert "Meetings to book or record" in html and "Waiting since" in html
    assert "No meeting booked" in row_of(html, without_meeting)
    assert "Outcome not recorded" in row_of(html, unrecorded)


def test_a_sip_left_without_a_meeting_since_an_earlier_day_is_late(as_region, db_session, called, now):
    """Called off today, a new meeting may still be booked today; left so since yesterday, it is late."""
    today, yesterday = called(), called()
    cancel_the_meeting(db_session, today, now)
    cancel_the_meeting(db_session, yesterday, now)
    with unit_of_work(db_session):
        db_session.get(SipCase, yesterday.id).unbooked_since = now - timedelta(days=1)
    html = section_html(text_of(as_region.get("/")))
    assert "Inget möte bokat" in row_of(html, today) and "Inget möte bokat" in row_of(html, yesterday)
    assert '<strong class="overdue">' in row_of(html, yesterday)
    assert '<strong class="overdue">' not in row_of(html, today)
