"""The outcome page of a SIP with several planned meetings records the one chosen (?meeting=): switching the
page's language kept the page but not the choice, so the other language showed the first meeting's rows."""

from __future__ import annotations

import re
from datetime import timedelta

from meetingkit import everyone, next_week_at
from webkit import login, text_of

from sipflow.clock import now_utc
from sipflow.db import unit_of_work
from sipflow.meetings import services


def _switch(page: str, code: str) -> str:
    return re.search(rf'href="([^"]*)" lang="{code}" hreflang="{code}"', page).group(1).replace("&amp;", "&")


def test_the_language_switch_keeps_the_meeting_chosen_on_the_outcome_page(
    client, db_session, registry, parties, ready, book
):
    first = book(meeting_starts_at=next_week_at(10), meeting_ends_at=None, mode="video")
    with unit_of_work(db_session):
        db_session.refresh(ready.case)
        second = services.book(
            db_session,
            registry,
            parties.region_user,
            ready.case,
            {
                "meeting_starts_at": next_week_at(10) + timedelta(days=2),
                "meeting_ends_at": next_week_at(11) + timedelta(days=2),
                "mode": "on_site",
                "location": "Storgatan 1, Växjö",
                "invitee_ids": everyone(ready),
            },
            expected_version=ready.case.version,
            now=now_utc(),
        )
    assert second != first.id
    login(client, parties.region_user.username)
    url = f"/cases/{ready.case.uid}/meetings/outcome"
    page = text_of(client.get(f"{url}?meeting={second}&lang=en"))
    swedish = _switch(page, "sv")
    assert f"meeting={second}" in swedish and "lang=sv" in swedish
    select = re.search(
        r'<select[^>]*name="meeting_id".*?</select>', text_of(client.get(swedish)), re.S
    ).group(0)
    assert re.search(r'<option[^>]*selected[^>]*value="(\d+)"', select).group(1) == str(second)
    # Opened without a choice, the page shows the first planned meeting, and the switch names it.
    assert f"meeting={first.id}&" in _switch(text_of(client.get(url)), "en")
