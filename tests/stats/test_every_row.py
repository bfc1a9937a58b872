"""Every quarter of the period and every municipality followed is a row, 0 where nothing was counted.

A trend by quarter joined the quarters around an empty one, and a municipality followed without a SIP was
missing as if it were not followed. A row of zeros is added after disclosure control: it says what its
absence said, so it hides nothing more and gives nothing back.
"""

from __future__ import annotations

from datetime import date
from itertools import product

from hypothesis import given, settings
from hypothesis import strategies as st

from sipflow.stats import disclosure
from sipflow.stats.disclosure import Suppressed
from sipflow.stats.services import Frame, Scope, _fill, indicators

LESSEBO, VAXJO = "0761", "0780"
KRONOBERG = {"Alvesta", "Lessebo", "Ljungby", "Markaryd", "Tingsryd", "Uppvidinge", "Växjö", "Älmhult"}


def _answer(world, threshold=5, **options):
    settings = world.settings()
    settings.threshold = threshold
    query = world.query(scope=Scope(counties=frozenset({"07"})), **options)
    return indicators(world.session, query, settings)


def _table(answer, key="meetings"):
    return next(t for t in answer["tables"] if t["key"] == key)


def _lessebo(world, quarters=((date(2026, 2, 10), 6), (date(2026, 8, 10), 7))):
    for held_on, count in quarters:
        for _ in range(count):
            world.meeting(world.case(world.person(LESSEBO)), held_on, municipality=LESSEBO)
    world.session.flush()


def test_a_quarter_without_a_sip_is_a_row_and_a_point_of_the_trend(world):
    """Lessebo: SIPs in 2026 K1 and K3 only; by quarter the year has four rows and the trend four points."""
    _lessebo(world)
    answer = _answer(world, start="2026-01-01", end="2026-12-31", municipality=LESSEBO, by="quarter")
    rows = [(row["quarter"], row["sips"]) for row in _table(answer)["rows"]]
    # Counted on 2 November: the fourth quarter only up to that day, and said so.
    assert rows == [("2026 K1", 6), ("2026 K2", 0), ("2026 K3", 7), ("2026 K4 (t.o.m. 2026-11-02)", 0)]
    trend = next(chart for chart in answer["charts"] if chart["key"] == "quarter")
    assert trend["points"] == rows
    for key in ("lead_times", "outcomes"):
        assert [row["quarter"] for row in _table(answer, key)["rows"]] == [q for q, _ in rows], key
    outcomes = {row["quarter"]: row for row in _table(answer, "outcomes")["rows"]}
    assert (outcomes["2026 K2"]["offered"], outcomes["2026 K2"]["accepted_share"]) == (0, None)


def test_every_municipality_followed_is_a_row_with_zero_where_none_was_held(world):
    _lessebo(world)
    answer = _answer(world, start="2026-01-01", end="2026-12-31", by="municipality")
    sips = {row["municipality"]: row["sips"] for row in _table(answer)["rows"]}
    assert sips == dict.fromkeys(KRONOBERG, 0) | {"Lessebo": 13}
    chart = next(chart for chart in answer["charts"] if chart["key"] == "municipality")
    assert dict(chart["points"]) == sips
    # By municipality and quarter: each municipality in each quarter.
    both = _table(_answer(world, start="2026-01-01", end="2026-12-31", by="municipality,quarter"))
    assert len(both["rows"]) == 8 * 4


def test_a_compared_period_without_a_sip_is_a_row_of_its_own(world):
    _lessebo(world)
    answer = _answer(world, start="2026-01-01", end="2026-12-31", municipality=LESSEBO, compare_years=1)
    assert [(row["period"], row["sips"]) for row in _table(answer)["rows"]] == [
        ("2025", 0),
        ("2026 (t.o.m. 2026-11-02)", 13),
    ]


def test_zero_rows_beside_hidden_cells_give_none_of_them_back(world):
    """Lessebo 3 in K1 (small), 7 in K3: K3 is hidden beside the total 10, and K2 and K4 show 0."""
    _lessebo(world, quarters=((date(2026, 2, 10), 3), (date(2026, 8, 10), 7)))
    answer = _answer(world, start="2026-01-01", end="2026-12-31", municipality=LESSEBO, by="quarter")
    meetings = _table(answer)
    # K1's 3 SIPs are 3 persons': withheld as ".." (a row of "<5" persons shows nothing else).
    assert [row["sips"] for row in meetings["rows"]] == ["..", 0, "..", 0]
    assert meetings["total"]["sips"] == 10
    trend = next(chart for chart in answer["charts"] if chart["key"] == "quarter")
    assert [value for _, value in trend["points"]] == ["..", 0, "..", 0]


AREA = (("0880", "08"), ("0881", "08"), ("0882", "08"))
QUARTERS = (20261, 20262, 20263)
RULES = {"threshold": 5, "counts": ("sips", "first", "follow_up"), "shares": {}, "sums": {}}
FRAME = Frame(((None, date(2026, 1, 1), date(2026, 9, 30)),), AREA)


def _zero() -> dict:
    return dict.fromkeys(RULES["counts"], 0)


def _marks(rows) -> dict:
    return {
        (row["municipality"], row["quarter"]): tuple(
            "hidden" if isinstance(row[c], Suppressed) else row[c] for c in RULES["counts"]
        )
        for row in rows
    }


small_or_not = st.one_of(st.just(0), st.integers(0, 5), st.integers(0, 30))
drawn = st.lists(st.tuples(small_or_not, small_or_not), min_size=9, max_size=9)


@settings(max_examples=200, deadline=None)
@given(cells=drawn)
def test_a_zero_row_hides_nothing_more_and_gives_nothing_back(cells):
    """A table protected without its zero rows, then filled: each counted row reads as protection left it,
    and each added row is zeros with nothing hidden. A zero adds nothing to any total, so no hidden cell
    can be worked out from a total with it that could not be without it. (Protecting with the zeros in can
    pick other cells to hide beside a small one: it is not the rule, and not needed.)"""
    every = []
    for ((municipality, _), quarter), (first, follow_up) in zip(product(AREA, QUARTERS), cells, strict=True):
        row = {"municipality": municipality, "quarter": quarter, "first": first, "follow_up": follow_up}
        every.append(row | {"sips": first + follow_up})
    total = {column: sum(row[column] for row in every) for column in RULES["counts"]}
    dims = ("municipality", "quarter")
    counted = [dict(row) for row in every if row["sips"]]
    disclosure.suppress_breakdown(counted, dict(total), dims, additive=RULES["counts"], **RULES)
    protected = _marks(counted)
    filled = _fill(counted, dims, FRAME, _zero)
    marks = _marks(filled)
    assert [(row["municipality"], row["quarter"]) for row in filled] == [
        (municipality, quarter) for (municipality, _), quarter in product(AREA, QUARTERS)
    ]
    for key, mark in marks.items():
        assert mark == protected.get(key, (0, 0, 0)), key
