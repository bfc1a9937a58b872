"""A coordinator's year-end report: what the tables call the years and the threshold they hide below."""

from __future__ import annotations

from datetime import date

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
    assert [(row["year"], row["sips"]) for row in rows] == [("2025", 1), ("2026", 1)]
