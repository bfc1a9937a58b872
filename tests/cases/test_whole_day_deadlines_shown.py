"""A deadline counted in whole days falls due at the last second of its day in Sweden: every list shows it as
that day's date, not "23:59" (Att göra's follow-ups showed the date while Mina SIP and the case page showed
the time); a deadline due at a time of day keeps its time."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from test_whole_day_deadlines_within import _due_in_days
from webkit import login, text_of

from sipflow.cases.queries import local_due
from sipflow.clock import end_of_local_day

pytestmark = pytest.mark.usefixtures("frozen_clock")


def test_the_end_of_a_swedish_day_is_shown_as_its_date_in_summer_and_winter():
    for day in (date(2026, 7, 1), date(2026, 12, 24), date(2026, 3, 29), date(2026, 10, 25)):
        assert local_due(end_of_local_day(day)) == day.isoformat()
    # A follow-up stored before the whole-day rule fell due at 23:59:00.
    assert local_due(end_of_local_day(date(2026, 12, 3)) - timedelta(seconds=59)) == "2026-12-03"
    assert local_due(datetime(2026, 12, 3, 13, 30, tzinfo=UTC)) == "2026-12-03 14:30"
    assert local_due(datetime(2026, 12, 3, 22, 58, tzinfo=UTC)) == "2026-12-03 23:58"
    assert local_due(None) == ""


def test_the_case_page_mina_sip_and_att_gora_show_a_whole_day_deadline_as_its_date(
    client, db_session, parties, create_case, now
):
    case = create_case()
    day = _due_in_days(db_session, case, now, 3)
    login(client, parties.region_user.username)
    for path in (f"/cases/{case.uid}", "/cases", "/"):
        page = text_of(client.get(path))
        assert day.isoformat() in page, path
        assert f"{day.isoformat()} 23:59" not in page, path
