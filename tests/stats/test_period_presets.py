"""The periods a coordinator asks for most, one click away beside the dates: this year so far, the last
whole quarter, the last whole year (the year-end report in January), other filters kept."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

from hypothesis import given
from hypothesis import strategies as st
from statskit import coordinator_client
from webkit import text_of

from sipflow.stats.services import PERIOD_PRESETS, month_of, preset_period


@given(st.dates(min_value=date(2001, 1, 1), max_value=date(2099, 12, 31)))
def test_each_preset_is_whole_months_before_or_up_to_today(today):
    for key, _label in PERIOD_PRESETS:
        start, end = preset_period(key, today)
        assert start == month_of(start)[0] and end == month_of(end)[1] and start <= end
        assert end <= month_of(today)[1]
    assert preset_period("last_year", today) == (date(today.year - 1, 1, 1), date(today.year - 1, 12, 31))
    start, end = preset_period("last_quarter", today)
    assert start.month in (1, 4, 7, 10) and (end - start).days in range(88, 92)
    assert 0 < (month_of(today)[0] - start).days <= 153  # the quarter just before this one


def test_the_page_links_each_preset_with_the_other_filters_kept(client, make_user, db_session, frozen_clock):
    frozen_clock.set(datetime(2027, 1, 12, 9, 0, tzinfo=UTC))  # January: the year-end report
    coordinator = coordinator_client(client, make_user, db_session, "presets")
    page = text_of(coordinator.get("/statistik/", query_string={"by": "quarter", "compare_years": "1"}))
    links = dict(
        (label, href.replace("&amp;", "&"))
        for href, label in re.findall(r'<a href="(/statistik/\?[^"]+)"[^>]*>([^<]+)</a>', page)
    )
    assert links["Förra året"] == "/statistik/?by=quarter&compare_years=1&from=2026-01-01&to=2026-12-31"
    assert links["Förra kvartalet"] == "/statistik/?by=quarter&compare_years=1&from=2026-10-01&to=2026-12-31"
    assert links["Hittills i år"] == "/statistik/?by=quarter&compare_years=1&from=2027-01-01&to=2027-01-31"
    # The period shown (the default, this year so far) is marked as the current one.
    assert re.search(r'aria-current="true">Hittills i år<', page)
    last_year = text_of(coordinator.get(links["Förra året"]))
    assert re.search(r'aria-current="true">Förra året<', last_year) and 'value="2026-12-31"' in last_year
