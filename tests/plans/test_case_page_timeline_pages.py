"""A SIP followed up for years logs hundreds of steps: the case page's timeline shows the newest a page at a
time (keyset by moment and id), every step reached through its links, a later page reading as much as the
first, and what the page concludes from the steps (a kallelse sent) still true when they are on another
page."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import support
from plankit import give_huvudansvar
from sqlmodel import select
from webkit import login, text_of

from sipflow.cases.models import TransitionLog
from sipflow.cases.queries import TIMELINE_PAGE_MAX
from sipflow.clock import now_utc
from sipflow.db import unit_of_work

pytestmark = pytest.mark.usefixtures("frozen_clock")


def _timeline_part(html: str) -> str:
    return re.search(r'<section class="card" aria-labelledby="h-timeline">.*?</section>', html, re.S).group(0)


def _steps_shown(part: str) -> list[str]:
    """The numbered follow-ups a timeline page shows, in the order it shows them."""
    return re.findall(r"Uppföljning nr (\d+)", part)


def _link(part: str, label: str) -> str | None:
    found = re.search(rf'<a href="([^"]*)#h-timeline">{label}</a>', part)
    return found.group(1).replace("&amp;", "&") if found else None


def _log_follow_ups(db_session, case, frozen_clock, count: int) -> None:
    """count more steps on the case's log, a day apart (what years of follow-ups leave), numbered in their
    reasons; the last ones two at one moment, so the page's order needs the id too."""
    last = db_session.exec(
        select(TransitionLog).where(TransitionLog.case_id == case.id).order_by(TransitionLog.id.desc())
    ).first()
    with unit_of_work(db_session):
        for number in range(1, count + 1):
            if number < count:
                frozen_clock.advance(timedelta(days=1))
            db_session.add(
                TransitionLog(
                    case_id=case.id,
                    at=now_utc(),
                    user_id=last.user_id,
                    organisation_id=last.organisation_id,
                    trigger=last.trigger,
                    from_state=last.to_state,
                    to_state=last.to_state,
                    reason=f"Uppföljning nr {number}",
                )
            )


def test_every_step_is_reached_from_the_case_page_newest_first_however_many(
    client, engine, db_session, parties, held, frozen_clock
):
    count = 2 * TIMELINE_PAGE_MAX + 7
    _log_follow_ups(db_session, held, frozen_clock, count)
    assert login(client, parties.region_user.username).status_code == 302

    url, pages, statements = f"/cases/{held.uid}", [], []
    while url:
        assert client.get(url).status_code == 200
        with support.statements(engine) as seen:
            part = _timeline_part(text_of(client.get(url)))
        statements.append(len(seen))
        pages.append(part)
        url = _link(part, "Tidigare händelser")

    shown = [[int(n) for n in _steps_shown(part)] for part in pages]
    # The newest steps first, each page in the order they happened, the pages going back in time.
    assert shown[0] == list(range(count - TIMELINE_PAGE_MAX + 1, count + 1))
    assert [n for page in reversed(shown) for n in page] == list(range(1, count + 1))
    assert all(len(page) <= TIMELINE_PAGE_MAX for page in shown)
    # The oldest page holds the SIP's start, and only it.
    assert ["SIP startad" in part for part in pages] == [False, False, True]
    # Every later page leads back to the newest steps; the first needs no such link.
    assert [_link(part, "De senaste händelserna") for part in pages] == [None] + [f"/cases/{held.uid}"] * 2
    # A page further back reads as many statements as the first.
    assert len(set(statements)) == 1, statements


def test_a_cursor_that_is_no_cursor_shows_the_newest_steps(client, db_session, parties, held, frozen_clock):
    _log_follow_ups(db_session, held, frozen_clock, TIMELINE_PAGE_MAX + 1)
    assert login(client, parties.region_user.username).status_code == 302
    first = _timeline_part(text_of(client.get(f"/cases/{held.uid}")))
    for token in ("x", "MXx8", "!!", "a" * 500, "MnwyMDI2LTExLTAyVDEwOjAwOjAwKzAwOjAwfDE"):
        response = client.get(f"/cases/{held.uid}?timeline_before={token}")
        assert response.status_code == 200
        assert _timeline_part(text_of(response)) == first


def test_a_kallelse_sent_steps_ago_still_lets_the_sip_book_its_next_meeting(
    client, db_session, parties, held, frozen_clock
):
    # The kallelse is on the timeline's second page: the page must not conclude it was never sent.
    _log_follow_ups(db_session, held, frozen_clock, TIMELINE_PAGE_MAX + 3)
    assert login(client, parties.region_user.username).status_code == 302
    page = text_of(client.get(f"/cases/{held.uid}"))
    assert "Kallelse" not in "".join(re.findall(r"<strong>[^<]*</strong>", _timeline_part(page)))
    assert f'href="/cases/{held.uid}/meetings/new"' in page


def test_a_hand_over_is_shown_on_the_page_of_its_time_only(client, db_session, parties, held, frozen_clock):
    region, municipality = parties.region.organisation_id, parties.municipality.organisation_id
    give_huvudansvar(db_session, held, parties.region_user, region, now_utc())
    frozen_clock.advance(timedelta(hours=1))
    give_huvudansvar(db_session, held, parties.region_user, municipality, now_utc(), reason="Boendet först")
    # A year of steps after the hand-over: it falls on the second page, with the steps of its time.
    _log_follow_ups(db_session, held, frozen_clock, TIMELINE_PAGE_MAX + 3)
    assert login(client, parties.region_user.username).status_code == 302
    first = _timeline_part(text_of(client.get(f"/cases/{held.uid}")))
    second = _timeline_part(text_of(client.get(_link(first, "Tidigare händelser"))))
    assert "Boendet först" not in first
    assert second.count("Boendet först") == 1
    # In its place by time: after the steps before it, before the follow-ups after it.
    assert second.index("SIP startad") < second.index("Boendet först") < second.index("Uppföljning nr 1<")


def test_the_language_switch_on_an_earlier_page_of_the_timeline_keeps_that_page(
    client, db_session, parties, held, frozen_clock
):
    """An English reader on "Earlier events" who switched to Swedish (or back) was taken to the newest steps:
    the switch's links named the case page without the timeline's cursor."""
    _log_follow_ups(db_session, held, frozen_clock, TIMELINE_PAGE_MAX + 3)
    assert login(client, parties.region_user.username).status_code == 302
    first = _timeline_part(text_of(client.get(f"/cases/{held.uid}?lang=en")))
    earlier = _link(first, "Earlier events")
    page = text_of(client.get(earlier))
    cursor = earlier.split("timeline_before=", 1)[1]
    switch = {
        code: re.search(rf'href="([^"]*)" lang="{code}" hreflang="{code}"', page)
        .group(1)
        .replace("&amp;", "&")
        for code in ("sv", "en")
    }
    assert all(f"timeline_before={cursor}" in url for url in switch.values()), switch
    swedish = _timeline_part(text_of(client.get(switch["sv"])))
    assert _steps_shown(swedish) == _steps_shown(_timeline_part(page)) and "De senaste händelserna" in swedish
    # The newest page's switch has no cursor to keep.
    assert "timeline_before" not in re.search(
        r'href="([^"]*)" lang="sv"', text_of(client.get(f"/cases/{held.uid}"))
    ).group(1)


def test_the_language_switch_on_a_later_page_of_the_reminders_keeps_that_page(client, parties, held):
    """The reminders' pages (?reminders_after=) are the case page's too: a switch keeps the page shown."""
    assert login(client, parties.region_user.username).status_code == 302
    page = text_of(client.get(f"/cases/{held.uid}?reminders_after=abc&lang=en"))
    switch = re.search(r'href="([^"]*)" lang="sv" hreflang="sv"', page).group(1).replace("&amp;", "&")
    assert (
        switch.startswith(f"/cases/{held.uid}?") and "reminders_after=abc" in switch and "lang=sv" in switch
    )
