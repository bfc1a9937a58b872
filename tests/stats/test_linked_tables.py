"""Tables of one period by different breakdowns, and the charts beside them, give no hidden count back.

A table by sex and age band beside the table by age band: each age band's SIPs are the sum of its sex
cells, so a band shown as 9 over a shown 5 and a hidden "<5" gives 4. A total, a coarser table's cell or a
chart's bar over hidden cells here must have at least two of them hidden (or be hidden itself): no hidden
cell is a published number minus shown ones. The charts show exactly what the table by their breakdown
alone shows, and compared with earlier years they show the period chosen, not the years added up.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from itertools import product

from hypothesis import given, settings
from hypothesis import strategies as st
from test_disclosure import KALMAR, NYBRO, _table

from sipflow.stats import disclosure
from sipflow.stats.disclosure import Suppressed
from sipflow.stats.services import indicators

THRESHOLD = 5
SUMS = {"sips": ("first", "follow_up")}
RULES = {"threshold": THRESHOLD, "counts": ("sips", "first", "follow_up"), "shares": {}, "sums": SUMS}


def _lone_hidden_parts(
    fine: list[dict], coarse: list[dict], keys: tuple[str, ...], column: str, open_cells=()
) -> list:
    """The small counts a coarse cell shown as a number gives back as itself minus its shown fine cells.

    A lone hidden part that is no small count (a complementary cell a zero beside it gives away) tells
    nothing of a person and is left to the other relations (the chains below).
    """
    out = []
    for whole in coarse:
        if not isinstance(whole[column], int):
            continue
        below = [row for row in fine if all(row[key] == whole[key] for key in keys)]
        parts = [row[column] for row in below]
        if any(id(row) in open_cells for row in below if not isinstance(row[column], int)):
            continue
        if sum(not isinstance(part, int) for part in parts) == 1:
            derived = whole[column] - sum(part for part in parts if isinstance(part, int))
            if 0 < derived < THRESHOLD:
                out.append((tuple(whole[key] for key in keys), whole[column], parts))
    return out


def _rows(drawn) -> list[dict]:
    rows = []
    for (sex, band), (first, follow_up) in drawn.items():
        rows.append({"sex": sex, "band": band, "first": first, "follow_up": follow_up})
        rows[-1]["sips"] = first + follow_up
    return rows


small_or_not = st.one_of(st.integers(0, 5), st.integers(0, 30))
drawn_tables = st.integers(1, 3).flatmap(
    lambda sexes: st.integers(1, 4).flatmap(
        lambda bands: st.lists(
            st.tuples(small_or_not, small_or_not), min_size=sexes * bands, max_size=sexes * bands
        ).map(lambda cells: dict(zip(product(range(sexes), range(bands)), cells, strict=True)))
    )
)


@settings(max_examples=300, deadline=None)
@given(drawn=drawn_tables)
def test_no_coarser_table_or_total_gives_a_hidden_cell_of_a_random_table_back(drawn):
    """By sex and age band, by each alone and the total: no shown sum has one hidden cell under it."""
    true_rows = _rows(drawn)
    total = {column: sum(row[column] for row in true_rows) for column in ("sips", "first", "follow_up")}
    rows, shown_total = [dict(row) for row in true_rows], dict(total)
    tables = disclosure.suppress_breakdown(
        rows, shown_total, ("sex", "band"), additive=RULES["counts"], **RULES
    )
    for column in RULES["counts"]:
        marked = _pinned_by_marks(rows, tables, column)
        for keys in (("sex",), ("band",)):
            # A coarser table against the finer one, and against the total.
            assert not _lone_hidden_parts(rows, tables[keys], keys, column, marked)
            assert not _lone_hidden_parts(tables[keys], [shown_total], (), column)
        assert not _lone_hidden_parts(rows, [shown_total], (), column)
    for row in [*rows, *tables[("sex",)], *tables[("band",)], shown_total]:
        for column in RULES["counts"]:
            # Nothing small is shown.
            assert not (isinstance(row[column], int) and 0 < row[column] < THRESHOLD)
    # A coarser table hides as it does asked for alone.
    for keys in (("sex",), ("band",)):
        alone_rows = [
            {key: row[key] for key in keys} | {column: row[column] for column in RULES["counts"]}
            for row in _summed(true_rows, keys)
        ]
        alone = disclosure.suppress_breakdown(
            alone_rows, dict(total), keys, additive=RULES["counts"], **RULES
        )[keys]
        assert [_marks(row) for row in alone] == [_marks(row) for row in tables[keys]]
    # Left open (docs/architecture.md): chains of subtractions through a complementary cell a zero beside
    # it gives away, and the marks' ranges (a published 8 over <5 + <5 is 4 + 4): a coarser table's
    # published cell is never hidden for a finer table's sake.


def _pinned_by_marks(rows, tables, column) -> set[int]:
    """The rows whose hidden cell a published coarser cell pins by the marks alone (8 = <5 + <5): left open.

    Such a cell is known however many more are hidden beside it, so it is no longer protected elsewhere.
    """
    out = set()
    for keys in (("sex",), ("band",)):
        for whole in tables[keys]:
            below = [row for row in rows if all(row[key] == whole[key] for key in keys)]
            hidden = [row for row in below if not isinstance(row[column], int)]
            shown = sum(row[column] for row in below if isinstance(row[column], int))
            if not isinstance(whole[column], int) or not hidden:
                continue
            low = sum(THRESHOLD if row[column].complementary else 1 for row in hidden)
            high = sum(THRESHOLD - 1 for row in hidden if not row[column].complementary)
            unbounded = any(row[column].complementary for row in hidden)
            rest = whole[column] - shown
            if rest == low or (not unbounded and rest == high):
                out |= {id(row) for row in hidden}
    return out


def _summed(rows, keys):
    out = {}
    for row in rows:
        whole = out.setdefault(
            tuple(row[k] for k in keys), {k: row[k] for k in keys} | dict.fromkeys(RULES["counts"], 0)
        )
        for column in RULES["counts"]:
            whole[column] += row[column]
    return list(out.values())


def _mark(value):
    return "hidden" if isinstance(value, Suppressed) else value


def _marks(row):
    return {column: _mark(row[column]) for column in RULES["counts"]}


def _sips(world, age, sex, count, municipality=NYBRO, held_on=date(2026, 2, 10)):
    for _ in range(count):
        world.meeting(
            world.case(world.person(municipality)), held_on, municipality=municipality, sex=sex, age=age
        )


def test_an_age_band_minus_its_shown_sex_cells_gives_no_hidden_cell(world):
    """The tester's 65–79: 9 SIPs, women 5 shown, men "<5", gave 4. A band shown has two cells hidden."""
    _sips(world, 20, "female", 5)
    _sips(world, 20, "male", 6)
    _sips(world, 70, "female", 6)
    _sips(world, 70, "male", 4)
    world.session.commit()
    fine = _table(indicators(world.session, world.query(by="sex,age_band"), world.settings()), "meetings")
    bands = _table(indicators(world.session, world.query(by="age_band"), world.settings()), "meetings")
    sexes = _table(indicators(world.session, world.query(by="sex"), world.settings()), "meetings")
    # Four men: a row of "<5" persons, its SIPs withheld as "..".
    assert {(row["sex"], row["age_band"]): row["sips"] for row in fine["rows"]}[("Man", "65–79")] == ".."
    for coarse, keys in ((bands, ("age_band",)), (sexes, ("sex",))):
        for column in ("sips", "first"):
            assert not _lone_hidden_parts(fine["rows"], coarse["rows"], keys, column)


def _chart(answer, key) -> dict:
    return dict(next(chart for chart in answer["charts"] if chart["key"] == key)["points"])


def _municipality_world(world):
    """Kalmar 3 SIPs in Q1; Nybro 5 in Q1 and 6 in Q2; Kalmar 4 and Nybro 7 in Q1 of the year before."""
    _sips(world, 40, "female", 3, KALMAR, date(2026, 2, 10))
    _sips(world, 40, "female", 5, NYBRO, date(2026, 2, 10))
    _sips(world, 40, "female", 6, NYBRO, date(2026, 5, 10))
    _sips(world, 40, "female", 4, KALMAR, date(2025, 2, 10))
    _sips(world, 40, "female", 7, NYBRO, date(2025, 2, 10))
    world.session.commit()


def test_the_municipality_chart_shows_what_the_table_by_municipality_shows(world):
    """The chart beside the table by quarter and municipality hid on its own, not as the one by municipality.

    Nybro 3 SIPs in Q2 and 6 in Q3, Kalmar 5 in Q3: by municipality alone 5 and 9 are shown; the chart hid
    both, so the two tables together told different things about the same numbers.
    """
    _sips(world, 40, "female", 3, NYBRO, date(2026, 5, 10))
    _sips(world, 40, "female", 6, NYBRO, date(2026, 8, 10))
    _sips(world, 40, "female", 5, KALMAR, date(2026, 8, 10))
    world.session.commit()
    period = {"start": "2026-04-01", "end": "2026-09-30", "county": "08"}
    alone = _table(
        indicators(world.session, world.query(**period, by="municipality"), world.settings()), "meetings"
    )
    by_municipality = {row["municipality"]: row["sips"] for row in alone["rows"]}
    # Every municipality of the county is a row, with 0 where none was held.
    assert {name: sips for name, sips in by_municipality.items() if sips} == {"Kalmar": 5, "Nybro": 9}
    for by in ("municipality,quarter", "quarter,municipality", "municipality"):
        answer = indicators(world.session, world.query(**period, by=by), world.settings())
        assert _chart(answer, "municipality") == by_municipality
        # Every municipality's shown bar has none or at least two hidden cells under it.
        assert not _lone_hidden_parts(
            _table(answer, "meetings")["rows"], alone["rows"], ("municipality",), "sips"
        )


def test_compared_with_earlier_years_the_chart_shows_the_period_chosen(world):
    """Nybro's bar was 2025 + 2026 (18) under a title naming no period; it is 2026's, as its table alone."""
    _municipality_world(world)
    query = world.query(start="2026-01-01", end="2026-06-30", county="08", by="municipality", compare_years=1)
    answer = indicators(world.session, query, world.settings())
    chart = next(chart for chart in answer["charts"] if chart["key"] == "municipality")
    plain = indicators(
        world.session, world.query(end="2026-06-30", county="08", by="municipality"), world.settings()
    )
    assert dict(chart["points"]) == _chart(plain, "municipality")
    assert "2026-01-01" in chart["title"] and "2026-06-30" in chart["title"]
    # Compared, each period's rows hide what that period asked for alone hides.
    earlier = indicators(
        world.session,
        world.query(start="2025-01-01", end="2025-06-30", county="08", by="municipality"),
        world.settings(),
    )
    rows = _table(answer, "meetings")["rows"]
    for period, alone in (("2025-01-01 – 2025-06-30", earlier), ("2026-01-01 – 2026-06-30", plain)):
        shown = {row["municipality"]: row["sips"] for row in rows if row["period"] == period}
        assert shown == {row["municipality"]: row["sips"] for row in _table(alone, "meetings")["rows"]}


def test_offered_sips_by_sex_and_age_band_give_no_cell_back_against_the_age_band_table(world):
    """Offered SIPs are protected as the meetings are: a band shown has two sex cells hidden under it."""
    requested = datetime(2026, 1, 5, 9, tzinfo=UTC)
    for birth, sex, count in (
        (date(2004, 1, 1), "female", 5),
        (date(2004, 1, 1), "male", 6),
        (date(1955, 1, 1), "female", 6),
        (date(1955, 1, 1), "male", 4),
    ):
        for _ in range(count):
            world.case(world.person(birth=birth, sex=sex), requested=requested)
    world.session.commit()
    fine = _table(indicators(world.session, world.query(by="sex,age_band"), world.settings()), "outcomes")
    bands = _table(indicators(world.session, world.query(by="age_band"), world.settings()), "outcomes")
    assert {(row["sex"], row["age_band"]): row["offered"] for row in fine["rows"]}[("Man", "65–79")] == "<5"
    assert {row["age_band"]: row["offered"] for row in bands["rows"]} == {"18–24": 11, "65–79": 10}
    assert not _lone_hidden_parts(fine["rows"], bands["rows"], ("age_band",), "offered")
