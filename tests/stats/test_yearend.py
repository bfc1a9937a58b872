"""A coordinator's year-end report: what the tables call the years and the threshold they hide below."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from statskit import coordinator_client

from sipflow.stats.services import indicators


def meeting_rows(world, **options):
    settings = world.settings()
    settings.threshold = 1
    answer = indicators(world.session, world.query(**options), settings)
    return next(t for t in answer["tables"] if t["key"] == "meetings")["rows"]


def test_a_year_the_period_counts_only_in_part_says_so(world):
    """July 2025 to June 2026 by year counts half of each year: neither row may read as the whole year (a
    report comparing "2025" with "2026" would compare half-years as years), as a part quarter says so."""
    for held_on in (date(2025, 9, 10), date(2026, 3, 10)):
        world.meeting(world.case(world.person()), held_on)
    rows = meeting_rows(world, start="2025-07-01", end="2026-06-30", by="year")
    assert [(row["year"], row["sips"]) for row in rows] == [("2025 (del)", 1), ("2026 (del)", 1)]
    # A period of whole years has no such mark.
    rows = meeting_rows(world, start="2025-01-01", end="2026-12-31", by="year")
    assert [(row["year"], row["sips"]) for row in rows] == [("2025", 1), ("2026 (t.o.m. 2026-11-02)", 1)]
    # Counted after the year, 2026 is whole too.
    rows = meeting_rows(
        world, start="2025-01-01", end="2026-12-31", by="year", now=datetime(2027, 1, 4, tzinfo=UTC)
    )
    assert [(row["year"], row["sips"]) for row in rows] == [("2025", 1), ("2026", 1)]


@pytest.mark.parametrize(
    ("field", "typed"),
    [
        # Cut to the field's first characters, each was read as a value it is not.
        ("county", "07" + " " * 8 + "junk"),
        ("municipality", "0780" + " " * 6 + "9"),
        ("to", "2026-12-31" + " " * 10 + "2027"),
        ("compare_years", "1   7"),
    ],
)
def test_a_filter_is_checked_whole_not_cut_to_what_the_page_echoes(
    client, make_user, db_session, field, typed
):
    """The page, the JSON and the exports check the value sent, as the CLI does: one longer than the field
    the page echoes is refused at its field, not read as its first characters."""
    coordinator = coordinator_client(client, make_user, db_session, f"yearend-{field}")
    asked = {"from": "2026-01-01", "to": "2026-12-31", field: typed}
    answer = coordinator.get("/statistik/indikatorer.json", query_string=asked)
    assert (answer.status_code, answer.get_json()["field"]) == (400, field)
    assert coordinator.get("/statistik/indikatorer.csv", query_string=asked).status_code == 400
    page = coordinator.get("/statistik/", query_string=asked)
    assert page.status_code == 400
    assert f'id="{field}-error"' in page.get_data(as_text=True)


def test_follow_ups_due_are_not_worded_as_follow_ups_still_to_do(client, make_user, db_session):
    """ "Uppföljningar att göra" beside "Uppföljningar gjorda i tid" read as those still to do (the words of
    the Att göra page), while the column counts every follow-up whose day has come, held or not."""
    coordinator = coordinator_client(client, make_user, db_session, "yearend-words")
    year = {"from": "2026-01-01", "to": "2026-12-31"}
    answer = coordinator.get("/statistik/indikatorer.json", query_string=year)
    outcomes = next(t for t in answer.get_json()["tables"] if t["key"] == "outcomes")
    labels = {column["key"]: column["label"] for column in outcomes["columns"]}
    assert labels["follow_ups_due"] == "Uppföljningar som skulle göras"
    assert outcomes["note"].startswith("Uppföljningar som skulle göras räknas till och med i dag, ")
    assert "att göra" not in outcomes["note"]


def test_this_year_so_far_compared_with_last_year_says_it_is_counted_up_to_today(world):
    """On 5 December the page's default period, January to December, compared with last year put "2026"
    beside "2025" as two whole years, though 2026 was counted up to that day only: a coordinator read its
    lower figures as fewer SIPs. The period, the year and the quarter that reach past today say so."""
    for held_on in (date(2025, 11, 10), date(2025, 12, 15), date(2026, 11, 10)):
        world.meeting(world.case(world.person()), held_on)
    december_5th = datetime(2026, 12, 5, 9, tzinfo=UTC)
    year = {"start": "2026-01-01", "end": "2026-12-31", "now": december_5th}
    rows = meeting_rows(world, compare_years=1, **year)
    assert [(row["period"], row["sips"]) for row in rows] == [("2025", 2), ("2026 (t.o.m. 2026-12-05)", 1)]
    rows = meeting_rows(world, compare_years=1, by="quarter", **year)
    assert [row["quarter"] for row in rows if row["quarter"].endswith("K4") or "K4 " in row["quarter"]] == [
        "2025 K4",
        "2026 K4 (t.o.m. 2026-12-05)",
    ]
    rows = meeting_rows(world, by="year", **year)
    assert [row["year"] for row in rows] == ["2026 (t.o.m. 2026-12-05)"]
    # A period that ended before today is whole: no mark.
    rows = meeting_rows(world, start="2025-01-01", end="2025-12-31", by="quarter", now=december_5th)
    assert [row["quarter"] for row in rows] == ["2025 K1", "2025 K2", "2025 K3", "2025 K4"]
