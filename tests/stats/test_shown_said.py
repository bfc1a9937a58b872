"""The statistics page says in words what its tables count (the period, the place, the breakdown, a SIP code),
and after "Visa" or a period link that line has the focus: a screen reader says what is shown and Tab goes on
to the downloads and tables, rather than the page starting again at its top with nothing said."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from statskit import coordinator_client
from webkit import text_of


def shown_line(page: str) -> str:
    found = re.search(r'<p class="list-result" id="stats-shown"([^>]*)>(.*?)</p>', page, re.S)
    assert found is not None
    return found.group(1) + "|" + " ".join(found.group(2).split())


def test_the_page_says_what_it_shows_and_focuses_it_after_a_filter(
    client, make_user, db_session, frozen_clock
):
    frozen_clock.set(datetime(2027, 1, 12, 9, 0, tzinfo=UTC))
    coordinator = coordinator_client(client, make_user, db_session, "shown", counties=("07",))
    # Opened from the menu: the line is there, the focus where a page starts.
    assert shown_line(text_of(coordinator.get("/statistik/"))) == (
        "|Visas: 2027-01-01 till 2027-01-31, Alla som du följer. Uppdelning: Kommun och kvartal."
    )
    asked = {"county": "07", "from": "2026-01-01", "to": "2026-12-31", "by": "quarter", "code": "XU045"}
    assert shown_line(text_of(coordinator.get("/statistik/", query_string=asked))) == (
        ' tabindex="-1" autofocus|Visas: 2026-01-01 till 2026-12-31, Kronobergs län. Uppdelning: Kvartal.'
        " SIP-kod: XU045."
    )
    english = text_of(coordinator.get("/statistik/", query_string={"municipality": "0780", "lang": "en"}))
    assert shown_line(english) == (
        ' tabindex="-1" autofocus|Shown: 2027-01-01 to 2027-01-31, Växjö.'
        " Breakdown: Municipality and quarter."
    )
    # Only a language switched: nothing was asked of the list, the focus stays at the top.
    assert shown_line(text_of(coordinator.get("/statistik/?lang=sv"))).startswith("|Visas:")
    # A refused filter: its error summary has the focus, alone.
    refused = text_of(coordinator.get("/statistik/", query_string={"from": "2026-02-30", "to": "2026-03-31"}))
    assert 'id="error-summary"' in refused and refused.count("autofocus") == 1
