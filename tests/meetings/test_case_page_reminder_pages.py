"""A SIP with more reminders than the case page lists at once shows them all, a page at a time (keyset by
moment and id): none is left out, the way on is a link, and a later page reads as much as the first."""

from __future__ import annotations

import re

import support
from meetingkit import fire
from sqlmodel import func, select
from test_page_statements import book_planned
from webkit import login, text_of

from sipflow.reminders.models import PENDING, UNDELIVERABLE, Reminder
from sipflow.reminders.services import CASE_PAGE_MAX


def _reminders_part(html: str) -> str:
    part = re.search(r'<section class="card" aria-labelledby="h-reminders">.*?</section>', html, re.S)
    return part.group(0)


def test_every_reminder_is_reached_from_the_case_page_however_many(
    client, engine, db_session, registry, parties, ready, book
):
    assert login(client, parties.region_user.username).status_code == 302
    case = ready.case
    book()
    fire(db_session, registry, parties.region_user, case, "hold_meeting")
    for hour in range(8, 20):
        book_planned(db_session, registry, parties, case, hour=hour)
    shown = db_session.exec(
        select(func.count())
        .select_from(Reminder)
        .where(Reminder.case_id == case.id, Reminder.status.in_((PENDING, UNDELIVERABLE)))
    ).one()
    assert shown > CASE_PAGE_MAX

    url, listed, counts = f"/cases/{case.uid}", 0, []
    while url:
        assert client.get(url).status_code == 200
        with support.statements(engine) as seen:
            part = _reminders_part(text_of(client.get(url)))
        counts.append(len(seen))
        items = part.count("<li>")
        assert 0 < items <= CASE_PAGE_MAX, part
        listed += items
        later = re.search(r'<a href="([^"]*reminders_after=[^"#]*)#h-reminders">Senare påminnelser</a>', part)
        url = later.group(1).replace("&amp;", "&") if later else None
        if url:
            assert "De första påminnelserna" in _reminders_part(text_of(client.get(url)))
    assert listed == shown
    assert len(counts) > 1 and len(set(counts)) == 1, counts


def test_a_cursor_that_is_no_cursor_shows_the_first_reminders(client, parties, ready):
    assert login(client, parties.region_user.username).status_code == 302
    first = _reminders_part(text_of(client.get(f"/cases/{ready.case.uid}")))
    for token in ("x", "MXx8", "!!", "a" * 500):
        response = client.get(f"/cases/{ready.case.uid}?reminders_after={token}")
        assert response.status_code == 200
        assert _reminders_part(text_of(response)) == first
