"""No count from 1 to 4 can be recomputed from shown cells: not down a column, along a row or from a share.

The reader here is an attacker: it knows every shown number, that "<5" is 1 to 4 and ".." at least 5, and
every relation of the table (a column adds up to its total, a row's parts to its whole, a share times its
denominator is its numerator). A relation that leaves a cell one value tells it; what it tells is used
in the other relations again, until nothing more follows.
"""

from __future__ import annotations

import math
import re
import subprocess
from datetime import UTC, date, datetime

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from webkit import login

from sipflow.cases.models import Participant, TransitionLog
from sipflow.meetings.models import Attendance
from sipflow.stats.disclosure import ALL, Bar, Suppressed, suppress_table
from sipflow.stats.services import indicators, percent

THRESHOLD = 5
KALMAR, NYBRO = "0880", "0881"


def deduce(rows: list[dict], total: dict | None, *, sums, shares, bars=None, floors=None) -> set[tuple]:
    """The cells an attacker pins down: shown, read from a shown share, or narrowed to one value by relations.

    rows/total hold shown numbers, "<5" (1..4), ".." (a hidden cell that is not small: at least 5) or
    anything else for a cell not shown (0 or more); sums: whole -> parts in every row; shares: share ->
    (numerator, denominator[, rest]). A share's rest (denominator - numerator) is the column named, else
    the cell (row, "rest:" + share). bars: key -> (shown bar, column, row indexes), a chart's bar beside
    the table, the cell ("bar", key); the total row's column is the sum of the bars that cover every row.
    floors: column -> the column it is never below in a row (SIPs -> persons: the SIPs of a row of "<5"
    persons are 1 or more), read as column = floor + (row, "over:" + column), 0 or more and never shown.
    Every relation narrows every cell's bounds from the others' bounds, again and again until nothing
    changes (what one relation proves is used in all the others).
    """
    everything = [*rows, *([total] if total is not None else [])]
    shares = {share: _relation(share, *declared) for share, declared in shares.items()}
    relations = list(sums.items()) + [(d, (n, rest)) for n, d, rest in shares.values()]
    columns = {c for whole, parts in relations for c in (whole, *parts)} | {
        c for row in everything for c, v in row.items() if _number(v) or str(v) in ("<5", "..")
    } - set(shares)
    columns |= {c for pair in (floors or {}).items() for c in pair}
    bounds: dict[tuple, tuple[float, float]] = {}
    for index, row in enumerate(everything):
        for column in columns:
            bounds[(index, column)] = _bounds(row.get(column))
            if str(row.get("persons")) == "<5" and column != "persons" and str(row.get(column)) == "..":
                # A row of "<5" persons shows nothing else: its ".." is any value, 0 too (withheld).
                bounds[(index, column)] = (0, math.inf)
        for share, (numerator, denominator, rest) in shares.items():
            low, high = bounds[(index, denominator)]
            if _number(row.get(share)) and low == high:
                part = round(row[share] * low / 100)
                bounds[(index, numerator)] = (part, part)
                bounds[(index, rest)] = (low - part, low - part)
    equations = []
    for index in range(len(everything)):
        equations += [((index, w), tuple((index, p) for p in parts)) for w, parts in relations]
    if total is not None:
        last = len(rows)
        equations += [((last, c), tuple((i, c) for i in range(last))) for c in columns]
    by_column: dict[str, list] = {}
    for key, (shown, column, indexes) in (bars or {}).items():
        bounds[("bar", key)] = _bounds(shown)
        equations.append((("bar", key), tuple((i, column) for i in indexes)))
        by_column.setdefault(column, []).append((key, indexes))
    for column, chart in by_column.items():
        if total is not None and sorted(i for _, indexes in chart for i in indexes) == list(range(len(rows))):
            equations.append(((len(rows), column), tuple(("bar", key) for key, _ in chart)))
    slack = set()
    for column, floor in (floors or {}).items():
        for index, row in enumerate(everything):
            if column in row and floor in row:
                slack.add((index, f"over:{column}"))
                bounds[(index, f"over:{column}")] = (0, math.inf)
                equations.append(((index, column), ((index, floor), (index, f"over:{column}"))))
    changed = True
    while changed:
        changed = False
        for whole, parts in equations:
            for cell in (whole, *parts):
                low, high = _one_group_bounds(bounds, cell, whole, parts)
                own_low, own_high = bounds[cell]
                narrowed = (max(low, own_low), min(high, own_high))
                if narrowed != (own_low, own_high):
                    bounds[cell], changed = narrowed, True
    return {cell for cell, (low, high) in bounds.items() if low >= high} - slack


def _bounds(value) -> tuple[float, float]:
    """What a reader knows of a cell from what it shows."""
    if _number(value):
        return value, value
    return {"<5": (1, 4), "..": (5, math.inf)}.get(str(value), (0, math.inf))


def hidden_cells(rows: list[dict], total: dict | None, bars=None) -> set[tuple]:
    """The cells shown as "<5" or ".." (bars too, as ("bar", key))."""
    everything = [*rows, *([total] if total is not None else [])]
    cells = {(i, c) for i, row in enumerate(everything) for c, v in row.items() if str(v) in ("<5", "..")}
    return cells | {("bar", key) for key, (shown, *_) in (bars or {}).items() if str(shown) in ("<5", "..")}


def _relation(share: str, numerator: str, denominator: str, rest: str | None = None):
    return numerator, denominator, rest or f"rest:{share}"


def _one_group_bounds(bounds, cell, whole, parts) -> tuple[float, float]:
    """What one relation says of cell, from what is known of the others."""
    others = [bounds[part] for part in parts if part != cell]
    if cell == whole:
        return sum(low for low, _ in others), sum(high for _, high in others)
    return bounds[whole][0] - sum(high for _, high in others), bounds[whole][1] - sum(
        low for low, _ in others
    )


def _number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def small_cells(rows: list[dict], total: dict | None, *, sums, shares) -> set[tuple[int, str]]:
    """The cells (rests of shares too) whose true value is 1..threshold-1."""
    everything = [*rows, *([total] if total is not None else [])]
    out = set()
    shares = {share: _relation(share, *declared) for share, declared in shares.items()}
    for index, row in enumerate(everything):
        values = dict(row)
        for numerator, denominator, rest in shares.values():
            values[rest] = row[denominator] - row[numerator]
        out |= {(index, c) for c, v in values.items() if _number(v) and 0 < v < THRESHOLD}
    return out


# --- The rule on random tables (hypothesis) ---------------------------------------------------------------

# Like the attendance table: on site + video + phone + absent = invited, attended = all but absent.
PARTS = ("on_site", "video", "phone", "absent")
SUMS = {"invited": PARTS, "attended": ("on_site", "video", "phone")}
# As the service declares them: invited minus attended is the absent column, and the other way round.
SHARES = {
    "attended_share": ("attended", "invited", "absent"),
    "absent_share": ("absent", "invited", "attended"),
}
COUNTS = (*PARTS, "invited", "attended", "persons")
# Like the SIP meeting table: SIPs = first + follow-up meetings.
MEETING_SUMS = {"sips": ("first", "follow_up")}
MEETING_SHARES = {"person_present_share": ("person_present", "sips")}

counts = st.one_of(st.integers(0, 6), st.integers(0, 40))


def _share(numerator: int, denominator: int):
    return percent(numerator, denominator)


def _row(parts: list[int], persons: int) -> dict:
    row = dict(zip(PARTS, parts, strict=True)) | {"persons": persons}
    row["invited"] = sum(parts)
    row["attended"] = row["invited"] - row["absent"]
    row["attended_share"] = _share(row["attended"], row["invited"])
    row["absent_share"] = _share(row["absent"], row["invited"])
    return row


tables = st.lists(st.tuples(st.lists(counts, min_size=4, max_size=4), counts), min_size=1, max_size=5).map(
    lambda drawn: [_row(parts, persons) for parts, persons in drawn]
)


@settings(max_examples=300, deadline=None)
@given(rows=tables, with_total=st.booleans())
def test_no_small_count_or_small_rest_can_be_recomputed_from_a_random_table(rows, with_total):
    """Attendance-like tables with row sums, shares and (or not) a total row give no small count away."""
    total = None
    if with_total:
        total = _row([sum(r[p] for r in rows) for p in PARTS], sum(r["persons"] for r in rows))
    truth = small_cells(rows, total, sums=SUMS, shares=SHARES)
    shown = [dict(row) for row in rows]
    shown_total = dict(total) if total is not None else None
    suppress_table(shown, shown_total, threshold=THRESHOLD, counts=COUNTS, shares=SHARES, sums=SUMS)

    # Four parts of "<5" under a whole of "<5" can only be 1 each: "<5" says so whatever else is hidden.
    inherent = deduce(*_all_hidden(rows, total), sums=SUMS, shares=SHARES)
    assert not truth & (deduce(shown, shown_total, sums=SUMS, shares=SHARES) - inherent)
    for row in [*shown, *([shown_total] if shown_total else [])]:
        for share, (numerator, denominator, _) in SHARES.items():
            if _number(row[share]):
                # A shown share never rests on a small count or a small complement.
                assert not 0 < row[numerator] < THRESHOLD
                assert not 0 < row[denominator] - row[numerator] < THRESHOLD
        for column in COUNTS:
            if isinstance(row[column], Suppressed) and not row[column].complementary:
                assert str(row[column]) == "<5"


def _all_hidden(rows, total):
    """The table with every count but 0 hidden and no share: what no suppression can keep from a reader."""

    def hide(row):
        return {
            column: None if column in SHARES else "<5" if 0 < value < THRESHOLD else ".." if value else 0
            for column, value in row.items()
        }

    return [hide(row) for row in rows], None if total is None else hide(total)


def test_a_hidden_cell_beside_only_zeros_hides_its_whole():
    """B's video 10 hides A's video 3 in its column; 0 + 10 + 0 + 0 = 10 in its row: the 10 goes too."""
    rows = [_row([20, 3, 0, 0], 0), _row([0, 10, 0, 0], 0)]
    total = _row([20, 13, 0, 0], 0)
    truth = small_cells(rows, total, sums=SUMS, shares=SHARES)
    suppress_table(rows, total, threshold=THRESHOLD, counts=COUNTS, shares=SHARES, sums=SUMS)
    assert str(rows[0]["video"]) == "<5" and str(rows[1]["video"]) == ".."
    assert str(rows[1]["invited"]) == ".." and rows[1]["phone"] == 0
    assert (0, "video") in truth and not truth & deduce(rows, total, sums=SUMS, shares=SHARES)


def test_hidden_cells_are_not_pinned_by_what_their_marks_say():
    """8 = <5 + <5 can only be 4 + 4, and 6 = <5 + .. only 1 + 5 (a ".." is a count of at least 5)."""
    true_rows = [
        {"sips": 8, "first": 4, "follow_up": 4},
        {"sips": 6, "first": 1, "follow_up": 5},
        {"sips": 20, "first": 10, "follow_up": 10},
    ]
    true_total = {"sips": 34, "first": 15, "follow_up": 19}
    rows, total = [dict(row) for row in true_rows], dict(true_total)
    suppress_table(
        rows, total, threshold=THRESHOLD, counts=("sips", "first", "follow_up"), shares={}, sums=MEETING_SUMS
    )
    assert str(rows[0]["first"]) == str(rows[0]["follow_up"]) == str(rows[1]["first"]) == "<5"
    secret = small_cells(true_rows, true_total, sums=MEETING_SUMS, shares={})
    assert secret and not secret & deduce(rows, total, sums=MEETING_SUMS, shares={})


def _meetings(*numbers: tuple[int, int]) -> list[dict]:
    """Rows of the SIP meeting table from (first, follow-up) meetings: SIPs are their sum."""
    return [
        {"sips": first + follow_up, "first": first, "follow_up": follow_up} for first, follow_up in numbers
    ]


def _meeting_total(rows: list[dict]) -> dict:
    return {column: sum(row[column] for row in rows) for column in ("sips", "first", "follow_up")}


MEETING_COUNTS = ("sips", "first", "follow_up")


def test_what_a_column_proves_is_carried_into_a_row_and_back():
    """Follow-ups 17 = Högsby .. + Torsås .., Torsås 16 SIPs = <5 + ..: 12 to 15 there forces 5 and 12."""
    # Högsby 5 + 5, Torsås 4 + 12, Kalmar and Norberg as in the tester's demo (July 2025 to June 2026).
    true_rows = _meetings((5, 5), (4, 12), (82, 144), (6, 7))
    rows, total = [dict(row) for row in true_rows], _meeting_total(true_rows)
    suppress_table(rows, total, threshold=THRESHOLD, counts=MEETING_COUNTS, shares={}, sums=MEETING_SUMS)
    assert str(rows[1]["first"]) == "<5"
    assert not hidden_cells(rows, total) & deduce(rows, total, sums=MEETING_SUMS, shares={})


def test_a_bar_beside_the_table_is_checked_with_the_table():
    """Markaryd's bar 18 beside its quarters <5, <5 and 10 gave 8 = 4 + 4; the bar per quarter the rest."""
    # Rows: Markaryd Q2, Q3, Q4; Växjö Q2, Q3, Q4 (first meetings only).
    true_rows = _meetings((4, 0), (4, 0), (10, 0), (2, 0), (30, 0), (30, 0))
    rows, total = [dict(row) for row in true_rows], _meeting_total(true_rows)
    bars = {
        ("municipality", "Markaryd"): Bar(18, "sips", (0, 1, 2)),
        ("municipality", "Växjö"): Bar(62, "sips", (3, 4, 5)),
        ("quarter", "Q2"): Bar(6, "sips", (0, 3)),
        ("quarter", "Q3"): Bar(34, "sips", (1, 4)),
        ("quarter", "Q4"): Bar(40, "sips", (2, 5)),
    }
    shown = suppress_table(
        rows, total, threshold=THRESHOLD, counts=MEETING_COUNTS, shares={}, sums=MEETING_SUMS, bars=bars
    )
    assert str(rows[0]["sips"]) == str(rows[1]["sips"]) == "<5"
    seen = {key: (shown[key], bar.column, bar.rows) for key, bar in bars.items()}
    assert not hidden_cells(rows, total, seen) & deduce(rows, total, sums=MEETING_SUMS, shares={}, bars=seen)


def test_bars_over_compared_periods_are_checked_without_a_total():
    """Alvesta's bar 114 over two years: its four small cells, one of them at least 2 SIPs, were 6 in all."""
    numbers = [
        (3, 8),
        (1, 1),
        (6, 7),
        (9, 7),
        (3, 8),
        (1, 0),
        (7, 13),
        (5, 8),
        (6, 11),
        (3, 4),
        (0, 1),
        (1, 1),
    ]
    rows = _meetings(*numbers)
    bars = {("municipality", "Alvesta"): Bar(114, "sips", tuple(range(len(rows))))}
    shown = suppress_table(
        rows, None, threshold=THRESHOLD, counts=MEETING_COUNTS, shares={}, sums=MEETING_SUMS, bars=bars
    )
    seen = {key: (shown[key], bar.column, bar.rows) for key, bar in bars.items()}
    assert not hidden_cells(rows, None, seen) & deduce(rows, None, sums=MEETING_SUMS, shares={}, bars=seen)


small_or_not = st.one_of(st.integers(0, 5), st.integers(0, 30))


@settings(max_examples=300, deadline=None)
@given(
    drawn=st.lists(
        st.lists(st.tuples(small_or_not, small_or_not), min_size=1, max_size=3), min_size=1, max_size=4
    ),
    with_total=st.booleans(),
)
def test_no_hidden_cell_of_a_random_table_and_its_bars_can_be_pinned(drawn, with_total):
    """Tables by municipality and quarter with bars per municipality and per quarter pin no hidden cell.

    What no suppression can keep from a reader (a whole of <5 over parts of <5, a bar of <5 over two rows
    of 1 + 1) is left out: the cells pinned when every count and bar but 0 is hidden.
    """
    true_rows, municipality_of, quarter_of = [], [], []
    for municipality, quarters in enumerate(drawn):
        for quarter, numbers in enumerate(quarters):
            true_rows += _meetings(numbers)
            municipality_of.append(municipality)
            quarter_of.append(quarter)
    total = _meeting_total(true_rows) if with_total else None
    bars = {}
    for name, labels in (("municipality", municipality_of), ("quarter", quarter_of)):
        for label in sorted(set(labels)):
            indexes = tuple(i for i, mine in enumerate(labels) if mine == label)
            bars[(name, label)] = Bar(sum(true_rows[i]["sips"] for i in indexes), "sips", indexes)
    rows, shown_total = [dict(row) for row in true_rows], dict(total) if total else None
    shown = suppress_table(
        rows, shown_total, threshold=THRESHOLD, counts=MEETING_COUNTS, shares={}, sums=MEETING_SUMS, bars=bars
    )
    seen = {key: (shown[key], bar.column, bar.rows) for key, bar in bars.items()}
    for key, bar in bars.items():
        assert shown[key] == bar.value or isinstance(shown[key], Suppressed)
        assert not (_number(shown[key]) and 0 < shown[key] < THRESHOLD)
    every_bar_hidden = {
        key: ("<5" if 0 < bar.value < THRESHOLD else ".." if bar.value else 0, bar.column, bar.rows)
        for key, bar in bars.items()
    }
    inherent = deduce(*_all_hidden(true_rows, total), sums=MEETING_SUMS, shares={}, bars=every_bar_hidden)
    pinned = deduce(rows, shown_total, sums=MEETING_SUMS, shares={}, bars=seen)
    assert not hidden_cells(rows, shown_total, seen) & (pinned - inherent)


# --- The tester's numbers, through the service and the page -------------------------------------------------


def _attendance_world(world, make_unit):
    """One SIP meeting with organisation participants taking part as the tester's demo showed."""
    municipality = world.municipality
    school, other = make_unit("school", "Skola"), make_unit("other", "Annan")
    modes = {
        municipality.organisation_id: (147, 113, 4, 18),  # Kommun: 282, phone 4
        school.organisation_id: (89, 15, 0, 3),  # Skola: 107, absent 3
        other.organisation_id: (101, 52, 5, 17),  # Annan: 175
        world.region.organisation_id: (60, 40, 7, 25),
    }
    case = world.case(world.person())
    meeting = world.meeting(case, date(2026, 1, 5))
    for organisation_id, numbers in modes.items():
        for mode, how_many in zip(PARTS, numbers, strict=True):
            people = [
                Participant(
                    case_id=case.id, kind="organisation", organisation_id=organisation_id, added_at=world.now
                )
                for _ in range(how_many)
            ]
            world.session.add_all(people)
            world.session.flush()
            world.session.add_all(
                Attendance(meeting_id=meeting.id, participant_id=p.id, mode=mode) for p in people
            )
    world.session.flush()
    return modes


def _table(answer, key):
    return next(t for t in answer["tables"] if t["key"] == key)


def _enough_persons(world):
    """Five more persons' SIP meetings (no organisation taking part): the period's SIPs are no small
    group's, whose attendance would be withheld whole."""
    for _ in range(5):
        world.meeting(world.case(world.person()), date(2026, 1, 6))


def test_attendance_modes_do_not_add_up_to_a_hidden_phone_or_absent_count(world, make_unit):
    """Kommun 147 + 113 + <5 + 18 = 282 gave phone 4; Skola 89 + 15 + 0 + <5 = 107 gave absent 3."""
    modes = _attendance_world(world, make_unit)
    _enough_persons(world)
    answer = indicators(world.session, world.query(by="organisation_kind"), world.settings())
    table = _table(answer, "attendance")
    true_rows = [_row(list(numbers), 0) for numbers in modes.values()]
    true_total = _row([sum(n[i] for n in modes.values()) for i in range(4)], 0)
    by_kind = {row["organisation_kind"]: row for row in table["rows"]}
    shown = [by_kind[label] for label in ("Kommun", "Skola", "Annan myndighet", "Region")]
    for row in [*shown, table["total"]]:
        row.setdefault("attended", None)  # not a column of the page: only readable through its share
    known = deduce(shown, table["total"], sums=SUMS, shares=SHARES)
    secret = small_cells(true_rows, true_total, sums=SUMS, shares=SHARES)
    assert (0, "phone") in secret and (1, "absent") in secret
    assert not secret & known


def test_a_shown_attended_share_does_not_give_a_hidden_absent_count_back(world):
    """Total 510 taking part, 16 absent shown as "..": 96.9 % attended of 510 gave 494, so 16 absent."""
    for organisation_id, numbers in (
        (world.municipality.organisation_id, (200, 80, 2, 8)),
        (world.region.organisation_id, (150, 60, 2, 8)),
    ):
        _attend(world, organisation_id, numbers)
    _enough_persons(world)
    answer = indicators(world.session, world.query(by="organisation_kind"), world.settings())
    table = _table(answer, "attendance")
    assert (table["total"]["invited"], table["total"]["absent"]) == (510, "..")
    for row in [*table["rows"], table["total"]]:
        if not _number(row["absent"]) and _number(row["attended_share"]) and _number(row["invited"]):
            attended = round(row["attended_share"] * row["invited"] / 100)
            raise AssertionError(f"absent {row['invited'] - attended} read back from {row}")
        if not _number(row["absent"]):
            assert not _number(row["absent_share"])
    shown = [dict(row) for row in table["rows"]]
    for row in [*shown, table["total"]]:
        row.setdefault("attended", None)  # not a column of the page: only readable through its share
    known = deduce(shown, table["total"], sums=SUMS, shares=SHARES)
    assert not {(index, "absent") for index in range(len(shown) + 1)} & known


def _attend(world, organisation_id, numbers):
    """One SIP meeting the organisation takes part in on site, by video, by phone and not (numbers)."""
    case = world.case(world.person())
    meeting = world.meeting(case, date(2026, 1, 5))
    for mode, how_many in zip(PARTS, numbers, strict=True):
        people = [
            Participant(
                case_id=case.id, kind="organisation", organisation_id=organisation_id, added_at=world.now
            )
            for _ in range(how_many)
        ]
        world.session.add_all(people)
        world.session.flush()
        world.session.add_all(
            Attendance(meeting_id=meeting.id, participant_id=p.id, mode=mode) for p in people
        )
    world.session.flush()


def _meetings_world(world):
    """Kalmar: 9 SIPs, 3 first and 6 follow-ups, the person present at 7; Nybro: 17 SIPs, present at 16.

    Each follow-up is another person's (their first meeting before the period): 9 and 17 persons, no
    small group whose row would show nothing but its persons.
    """
    for municipality, first, follow_ups, present in ((KALMAR, 3, 6, 7), (NYBRO, 11, 6, 16)):
        cases = [world.case(world.person(municipality)) for _ in range(first + follow_ups)]
        for case in cases[first:]:
            world.meeting(case, date(2025, 12, 10), municipality=municipality)
        held = 0
        for index in range(first + follow_ups):
            day = date(2026, 1, 10) if index < first else date(2026, 3, 10)
            world.meeting(
                cases[index],
                day,
                kind="first" if index < first else "follow_up",
                municipality=municipality,
                person_present=held < present,
            )
            held += 1
    world.session.commit()


PERIOD = {"from": "2026-01-01", "to": "2026-03-31", "county": "08", "by": "municipality"}


def _meeting_secrets(shown):
    """What the attacker may not learn: Kalmar's 3 first meetings, its 2 and Nybro's 1 absent person."""
    for row in shown:
        row.setdefault("person_present", None)
    return {(0, "first"), (0, "rest:person_present_share"), (1, "rest:person_present_share")}


def test_first_meetings_are_not_sips_minus_follow_ups_and_shares_hide_small_complements(world):
    """Kalmar 9, <5, 6 gave 3 first meetings; 77.8 % of 9 and 94.1 % of 17 gave 2 and 1 absent persons."""
    _meetings_world(world)
    answer = indicators(world.session, world.query(county="08", by="municipality"), world.settings())
    table = _table(answer, "meetings")
    rows = {row["municipality"]: row for row in table["rows"]}
    shown = [rows["Kalmar"], rows["Nybro"]]
    secrets = _meeting_secrets(shown)
    assert rows["Kalmar"]["first"] == "<5"
    assert not secrets & deduce(shown, table["total"], sums=MEETING_SUMS, shares=MEETING_SHARES)
    # Hidden as "..": a share is no count of persons, and "<5" would read as under 5 %.
    assert rows["Kalmar"]["person_present_share"] == ".." and rows["Nybro"]["person_present_share"] == ".."


def test_the_lead_time_table_does_not_show_the_meetings_the_meeting_table_hides(world):
    """Its first and follow-up meetings are the same counts: Kalmar's 6 follow-ups there gave 9 - 6 = 3."""
    _meetings_world(world)
    answer = indicators(world.session, world.query(county="08", by="municipality"), world.settings())
    table = _table(answer, "meetings")
    rows = {row["municipality"]: row for row in table["rows"]}
    lead = {row["municipality"]: row for row in _table(answer, "lead_times")["rows"]}
    shown = [rows["Kalmar"], rows["Nybro"]]
    for row in shown:
        # Read the meeting table together with the lead times: a count hidden in one, shown in the other.
        for mine, theirs in (("first", "request_to_first_n"), ("follow_up", "plan_to_follow_up_n")):
            if _number(lead[row["municipality"]][theirs]):
                row[mine] = lead[row["municipality"]][theirs]
    assert not _meeting_secrets(shown) & deduce(
        shown, table["total"], sums=MEETING_SUMS, shares=MEETING_SHARES
    )
    # A median of the meetings hidden goes with them (no maximum is shown: one person's value).
    assert lead["Kalmar"]["plan_to_follow_up_median"] == ".."


def test_the_page_and_the_quarterly_pdf_do_not_give_the_first_meetings_back(
    client, make_user, world, tmp_path
):
    """The page and the quarterly PDF show the answer's cells: Kalmar's 3 first meetings do not follow."""
    _meetings_world(world)
    make_user(None, "coordinator", "kerstin-disclosure")
    login(client, "kerstin-disclosure")
    answer = client.get("/statistik/indikatorer.json", query_string=PERIOD).get_json()
    table = _table(answer, "meetings")
    keys = [column["key"] for column in table["columns"]]
    rows = {row["municipality"]: row for row in table["rows"]}

    page = client.get("/statistik/", query_string=PERIOD).get_data(as_text=True)
    start = page.index('<th scope="row">Kalmar</th>', page.index('id="table-meetings"'))
    row = page[start : page.index("</tr>", start)]
    kalmar_cells = re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row)  # the municipality heads the row
    # As a Swedish reader sees them: a share with a decimal comma.
    swedish = [
        str(v).replace(".", ",") if isinstance(v, float) else str(v) for v in map(rows["Kalmar"].get, keys)
    ]
    assert kalmar_cells == [cell.replace("<", "&lt;") for cell in swedish]

    path = tmp_path / "report.pdf"
    path.write_bytes(client.get("/statistik/kvartalsrapport.pdf", query_string=PERIOD).get_data())
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True).stdout
    # In the SIP meeting table, after the charts' tables (which give the chart's Kalmar 9).
    meetings = text[text.index("SIP-möten") :]
    kalmar_line = next(line for line in meetings.splitlines() if line.strip().startswith("Kalmar "))
    assert kalmar_line.split() == swedish

    shown = [rows["Kalmar"], rows["Nybro"]]
    secrets = _meeting_secrets(shown)
    assert not secrets & deduce(shown, table["total"], sums=MEETING_SUMS, shares=MEETING_SHARES)


def test_offered_sips_neither_accepted_nor_declined_are_not_offered_minus_the_others(world):
    """Kalmar: 20 offered, 10 accepted, 8 declined would give 2 persons who have not answered."""
    transitions = world.registry.latest("sip").transitions
    accept = next(t.trigger for t in transitions if t.form == "consent")
    decline = next(t.trigger for t in transitions if t.form == "consent_declined")
    for municipality, accepted, declined, undecided in ((KALMAR, 10, 8, 2), (NYBRO, 15, 10, 5)):
        for index in range(accepted + declined + undecided):
            case = world.case(world.person(municipality), requested=datetime(2026, 1, 5, 9, tzinfo=UTC))
            if index < accepted + declined:
                trigger = accept if index < accepted else decline
                world.session.add(
                    TransitionLog(
                        case_id=case.id, at=world.now, trigger=trigger, from_state="a", to_state="b"
                    )
                )
    world.session.flush()
    answer = indicators(world.session, world.query(county="08", by="municipality"), world.settings())
    table = _table(answer, "outcomes")
    rows = {row["municipality"]: row for row in table["rows"]}
    sums = {"offered": ("accepted", "declined", "undecided")}
    shares = {"accepted_share": ("accepted", "offered")}
    known = deduce([rows["Kalmar"], rows["Nybro"]], table["total"], sums=sums, shares=shares)
    assert (0, "undecided") not in known


def _pinned_in_the_answer(answer) -> set[tuple]:
    """The hidden cells of the SIP meeting table and its charts a reader pins from both together."""
    table = _table(answer, "meetings")
    rows = [{column: row[column] for column in MEETING_COUNTS} for row in table["rows"]]
    total = {column: table["total"][column] for column in MEETING_COUNTS} if table["total"] else None
    # As a reader knowing the rule sees them: in a row of "<5" persons a ".." is any value, 0 too.
    seen = [
        {
            column: "any" if row["persons"] == "<5" and row[column] == ".." else row[column]
            for column in MEETING_COUNTS
        }
        for row in table["rows"]
    ]
    bars = {}
    for chart in answer["charts"]:
        for label, value in chart["points"]:
            indexes = tuple(i for i, row in enumerate(table["rows"]) if row[chart["key"]] == label)
            bars[(chart["key"], label)] = (value, "sips", indexes)
    pinned = hidden_cells(rows, total, bars) & deduce(seen, total, sums=MEETING_SUMS, shares={}, bars=bars)
    # A withheld cell under a total of 0 is 0: a fact about every person counted (the total's persons are
    # no small group, else it would be withheld too), not about the small group alone.
    return {
        cell
        for cell in pinned
        if not (cell[0] != "bar" and seen[cell[0]][cell[1]] == "any" and total and total[cell[1]] == 0)
    }


@pytest.mark.parametrize("compare_years", [0, 1])
def test_the_charts_beside_the_meeting_table_give_no_hidden_cell_away(world, compare_years):
    """Kalmar <5, <5 and 10 per quarter beside its bar of 18 gave 4 and 4; the quarters' bars the rest."""
    for municipality, per_quarter in ((KALMAR, (4, 4, 10)), (NYBRO, (2, 6, 6))):
        for month, count in zip((2, 5, 8), per_quarter, strict=True):
            for _ in range(count):
                world.meeting(
                    world.case(world.person(municipality)), date(2026, month, 10), municipality=municipality
                )
    world.session.commit()
    query = world.query(
        start="2026-01-01",
        end="2026-09-30",
        county="08",
        by="municipality,quarter",
        compare_years=compare_years,
    )
    answer = indicators(world.session, query, world.settings())
    rows = {(row["municipality"], row["quarter"]): row["sips"] for row in _table(answer, "meetings")["rows"]}
    # Four persons each: withheld (a row of "<5" persons shows nothing else), as their own "<5" was.
    assert rows[("Kalmar", "2026 K1")] == rows[("Kalmar", "2026 K2")] == ".."
    assert not _pinned_in_the_answer(answer)


def test_bars_beside_a_table_by_organisation_kind_do_not_give_the_total_away(world):
    """Kalmar's 3 SIPs (<5) beside Nybro's 10 under a shown total of 13 gave 3 back: Nybro's bar hides too."""
    for municipality, count, units in (
        (KALMAR, 3, [world.region]),
        (NYBRO, 10, [world.region, world.municipality]),
    ):
        for _ in range(count):
            person = world.person(municipality)
            world.meeting(world.case(person), date(2026, 2, 10), municipality=municipality, units=units)
    world.session.commit()
    query = world.query(county="08", by="municipality,organisation_kind")
    answer = indicators(world.session, query, world.settings())
    assert _table(answer, "meetings")["total"]["sips"] == 13
    bars = {name: sips for name, sips in answer["charts"][0]["points"] if sips != 0}
    # Kalmar's 3 SIPs are 3 persons': a row of "<5" persons shows nothing else, its SIPs "..".
    assert bars == {"Kalmar": "..", "Nybro": ".."}


# --- A row's SIPs are at least its persons -------------------------------------------------------------

PERSON_COUNTS = ("persons", "sips", "first", "follow_up")
FLOORS = {"sips": "persons"}
SMALL_GROUPS = {"persons": (ALL,)}


def _person_rows(*numbers: tuple[int, int, int]) -> list[dict]:
    """Rows from (persons, first, follow-up meetings): SIPs are first + follow-up, at least the persons."""
    return [
        {"persons": persons, "sips": first + follow_up, "first": first, "follow_up": follow_up}
        for persons, first, follow_up in numbers
    ]


def _person_total(rows: list[dict]) -> dict:
    """The total, its persons the sum of the rows' (the stricter reading: a person is mostly in one row)."""
    return {column: sum(row[column] for row in rows) for column in PERSON_COUNTS}


def _protect_persons(rows: list[dict], total: dict | None, **rules) -> None:
    suppress_table(
        rows,
        total,
        threshold=THRESHOLD,
        counts=PERSON_COUNTS,
        shares={},
        sums=MEETING_SUMS,
        populations=SMALL_GROUPS,
        **rules,
    )


def test_the_sips_of_rows_of_few_persons_are_not_the_total_minus_the_others():
    """The tester's quarter: 13 SIPs, Växjö 10, Tingsryd, Alvesta and Ljungby "<5" persons, SIPs "..".

    A row of "<5" persons has at least one SIP, so 13 - 10 = 3 over three such rows is 1 each: a hidden
    cell's least value is what its floor (the row's persons) says, not 0.
    """
    true_rows = _person_rows((1, 1, 0), (1, 1, 0), (9, 9, 1), (1, 1, 0))
    total = _person_total(true_rows)
    assert (total["persons"], total["sips"]) == (12, 13)

    # Without the floor declared (as before): every small row's "..", each 1 SIP, follows.
    rows, shown_total = [dict(row) for row in true_rows], dict(total)
    _protect_persons(rows, shown_total)
    assert rows[2]["sips"] == 10 and [str(rows[i]["sips"]) for i in (0, 1, 3)] == [".."] * 3
    pinned = deduce(rows, shown_total, sums=MEETING_SUMS, shares={}, floors=FLOORS)
    assert {(0, "sips"), (1, "sips"), (3, "sips")} <= pinned

    rows, shown_total = [dict(row) for row in true_rows], dict(total)
    _protect_persons(rows, shown_total, floors=FLOORS)
    assert isinstance(rows[2]["sips"], Suppressed) and isinstance(rows[2]["persons"], Suppressed)
    pinned = deduce(rows, shown_total, sums=MEETING_SUMS, shares={}, floors=FLOORS)
    assert not hidden_cells(rows, shown_total) & pinned


def test_shown_sips_do_not_pin_the_persons_hidden_beside_them():
    """5 SIPs beside ".." persons (5 or more) are 5 persons: the persons' column then gives a "<5" back."""
    true_rows = _person_rows((5, 5, 0), (4, 4, 0), (6, 6, 0), (4, 4, 0))
    total = _person_total(true_rows)

    # Without the floor declared (as before): 19 persons = 5 + <5 + 6 + <5 would be 4 + 4, so the 5 is
    # hidden; beside its 5 SIPs, the ".." (5 or more) is 5 all the same, and the two "<5" 4 and 4.
    rows, shown_total = [dict(row) for row in true_rows], dict(total)
    _protect_persons(rows, shown_total)
    assert str(rows[0]["persons"]) == ".." and rows[0]["sips"] == 5
    assert (1, "persons") in deduce(rows, shown_total, sums=MEETING_SUMS, shares={}, floors=FLOORS)

    rows, shown_total = [dict(row) for row in true_rows], dict(total)
    _protect_persons(rows, shown_total, floors=FLOORS)
    assert str(rows[1]["persons"]) == "<5" and isinstance(rows[0]["sips"], Suppressed)
    assert not _pinned_beyond_inherent(true_rows, total, rows, shown_total)


def _pinned_beyond_inherent(true_rows, total, rows, shown_total) -> set[tuple]:
    """The hidden cells a reader knowing the floors pins, but for those no suppression could keep: pinned
    with every count but 0 hidden (a withheld follow-up under a total of 0 is 0, a fact of everyone)."""

    def hide(row):
        few = 0 < row["persons"] < THRESHOLD
        return {
            column: value
            if value == 0 and not (few and column != "persons")
            else "<5"
            if 0 < value < THRESHOLD and (column == "persons" or not few)
            else ".."
            for column, value in row.items()
        }

    inherent = deduce(
        [hide(row) for row in true_rows], hide(total), sums=MEETING_SUMS, shares={}, floors=FLOORS
    )
    pinned = deduce(rows, shown_total, sums=MEETING_SUMS, shares={}, floors=FLOORS)
    return hidden_cells(rows, shown_total) & (pinned - inherent)


person_numbers = st.tuples(st.integers(0, 12), st.integers(0, 12), st.integers(0, 6)).map(
    # Persons at most the SIPs, and at least one when there is a SIP.
    lambda drawn: (min(drawn[0], drawn[1] + drawn[2]) or min(1, drawn[1] + drawn[2]), drawn[1], drawn[2])
)


@settings(max_examples=300, deadline=None)
@given(numbers=st.lists(person_numbers, min_size=1, max_size=5))
# 6 SIPs = <5 + <5 beside 6 persons, twice, under follow-ups of <5: 2 + 2 and 4 + 4 by a chain of groups
# that no shown cell but the persons (the floor) could break.
@example(numbers=[(6, 4, 2), (6, 4, 2)])
def test_no_hidden_cell_of_a_random_table_of_persons_and_sips_can_be_pinned(numbers):
    """Rows of persons, SIPs, first and follow-up meetings under a total: a reader who knows that a row's
    SIPs are at least its persons pins no hidden cell that suppression could have kept.

    Left out as no suppression can keep it: what a reader pins when every count but 0 is hidden.
    """
    true_rows = _person_rows(*numbers)
    total = _person_total(true_rows)
    rows, shown_total = [dict(row) for row in true_rows], dict(total)
    _protect_persons(rows, shown_total, floors=FLOORS)
    assert not _pinned_beyond_inherent(true_rows, total, rows, shown_total)


VAXJO, TINGSRYD, ALVESTA, LJUNGBY = "0780", "0763", "0764", "0781"


@pytest.mark.parametrize("by", ["municipality", "municipality,quarter"])
def test_the_testers_quarter_gives_no_small_row_back_by_either_breakdown(world, by):
    """Växjö 9 persons, 10 SIPs; Tingsryd, Alvesta and Ljungby one person and one SIP each (12 and 13 in
    all). By municipality the SIPs gave 13 - 10 = 3 over three rows of at least one: 1 each; by
    municipality and quarter the persons gave 12 - 9 = 3 likewise (the total's persons were checked
    against no row there)."""
    for index in range(9):
        case = world.case(world.person(VAXJO))
        world.meeting(case, date(2026, 8, 3), municipality=VAXJO)
        if index == 0:
            world.meeting(case, date(2026, 9, 3), municipality=VAXJO, kind="follow_up")
    for code in (TINGSRYD, ALVESTA, LJUNGBY):
        world.meeting(world.case(world.person(code)), date(2026, 8, 4), municipality=code)
    world.session.commit()
    query = world.query(start="2026-07-01", end="2026-09-30", county="07", by=by)
    table = _table(indicators(world.session, query, world.settings()), "meetings")
    rows = [{column: row[column] for column in PERSON_COUNTS} for row in table["rows"]]
    total = {column: table["total"][column] for column in PERSON_COUNTS}
    assert (total["persons"], total["sips"]) == (12, 13)
    vaxjo = next(row for row in table["rows"] if row["municipality"] == "Växjö")
    assert vaxjo["persons"] == vaxjo["sips"] == ".."
    pinned = deduce(rows, total, sums=MEETING_SUMS, shares={}, floors=FLOORS)
    assert not hidden_cells(rows, total) & pinned
