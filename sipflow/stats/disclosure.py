"""Disclosure control, the one place: small counts become "<5" before any table, chart, export or answer.

A count of 1 to threshold-1 could point at a person, so it is shown as "<threshold". A table says which
cells add up: each column to its total row, and in each row the columns of `sums` (whole -> parts); a
share (numerator, denominator) adds up too, as denominator = numerator + the rest (a count column when
the share names one: attended + absent = invited; else a cell of its own). A group must not give a
hidden cell back: not as the whole minus the shown parts (a lone hidden cell), nor from what the marks say
("<5" is 1 to 4, ".." at least 5: 8 = <5 + <5 is 4 + 4). Complementary suppression then hides the next
smallest positive cell of the group as well (or its whole, when only zeros are left), shown as "..", and
re-checks every group the new hide touches until none gives a cell away. What one group proves narrows
the others: bounds are then propagated over all groups together to a fixpoint (Torsås's 16 SIPs = <5 +
.. and the follow-up column's 17 = .. + .. pin 4, 12 and 5), and a hidden cell left one value hides one
more cell along the groups that narrowed it, until none is. A share shown beside its
denominator gives its numerator and rest back (96.9 % of 510 can only be 494), so every group is checked
with them known, and a share is hidden when its numerator, denominator or rest is hidden, small or
complementary: then no shown share pins a hidden cell of a group its numerator or rest is in. A median
is hidden when it rests on fewer than threshold cases. A small group shows nothing else about its
members (`populations`, `withheld_rows`): every other value of a row of "<5" persons is withheld as
"..", 0 too, and protected as any hidden cell (the reader takes it as 0 or more, or its floor).
Floors (`floors`: SIPs -> persons, each person counted had a SIP in the row): a hidden cell is at least
what the reader knows of its floor, so the SIPs of a row of "<5" persons are 1 or more, and a hidden floor
at most its shown cell (5 SIPs beside ".." persons are 5 persons); each floor is one more group, column =
floor + a slack the reader does not know (0 or more, never shown, never protected). The rule every group
is held to: the hidden cells' sum (the whole minus the shown parts) must lie strictly between the sums
of their least and of their greatest values, so no hidden cell is pinned by the others' bounds: 13 SIPs
over Växjö's shown 10 and three rows of "<5" persons (1 SIP or more each) left 3 = 1 + 1 + 1, so Växjö's
SIPs are hidden too; a cell given away only by its floor, with nothing else left in the group, hides the
floor (8 SIPs = <5 + <5 beside 8 persons: the persons). A count another
table shows too is hidden where that table hides it (`linked_cells`). A chart's bar is a sum of a
column's cells (`Bar`): checked as one more group, with the total as the sum of the bars, so a bar or
more cells are hidden.
A bar another table publishes (`Bar.shown`) is fixed: `suppress_breakdown` protects the tables by fewer
of a breakdown's dimensions first and gives their cells to the finer table that way, so tables of one
period by different breakdowns (and the charts, which are such tables) hide alike. A count that is no
sum (persons) is in no coarser table but the total, published over every row of the finer one.
"""

from __future__ import annotations

import math
from collections import defaultdict, deque
from dataclasses import dataclass


@dataclass(frozen=True)
class Suppressed:
    """A hidden value: "<threshold" for a small one, ".." for one hidden only so a small one stays hidden.

    withheld: a value about the members of a small group (the SIPs of a row of "<5" persons), hidden
    whatever it is, 0 too, also shown as "..": a reader knows only that it is 0 or more.
    """

    threshold: int
    complementary: bool = False
    withheld: bool = False

    def __str__(self) -> str:
        return ".." if self.complementary or self.withheld else f"<{self.threshold}"


def is_small(value, threshold: int) -> bool:
    """A count that must not be shown: 1 to threshold-1 (0 says nothing about anyone)."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < threshold


# A cell: (row index, column); the total row has index len(rows). A share's rest is the count column it
# names, else the column ("rest", numerator, denominator), never written back: it is readable as
# denominator minus numerator.
Cell = tuple[int, object]
# A group: (whole, parts), whole = sum of parts.
Group = tuple[Cell, tuple[Cell, ...]]
# Above this many groups, in a table beside published coarser sums (a hundred rows or so by three or four
# breakdowns), only each group on its own is checked, not the chains through several: propagation around
# the fixed sums grows too slow for a page (minutes for 720 rows by four breakdowns).
CHAIN_GROUPS = 2000
# How many times, on average, bounds propagation may visit each group with a hidden cell (`_Reader.pinned`).
PROPAGATION_PASSES = 8
# The row index of a bar's cell (_BAR, key).
_BAR = "bar"


@dataclass(frozen=True)
class Bar:
    """A count shown beside a table (a chart's bar): the sum of column over the rows (indexes) given.

    shown: None, the bar is shown with the table and may be hidden to protect it; else what another table
    publishes for it (a coarser breakdown's cell, already through disclosure control): fixed, never hidden
    here, and a hidden one is known only as its mark says.
    """

    value: int
    column: object
    rows: tuple[int, ...]
    shown: object = None


def suppress_table(
    rows: list[dict],
    total: dict | None,
    *,
    threshold: int,
    counts: tuple[str, ...],
    shares: dict[str, tuple[str, ...]],
    small_sample: dict[str, str] | None = None,
    sums: dict[str, tuple[str, ...]] | None = None,
    linked: set[Cell] | None = None,
    bars: dict[object, Bar] | None = None,
    populations: dict[str, tuple[str, ...]] | None = None,
    withheld_rows: set[int] | None = None,
    floors: dict[str, str] | None = None,
) -> dict[object, object]:
    """Hide in place the small counts of rows and total, the shares built on them and complementary cells.

    counts: the count columns, each adding up to the total row; sums: in every row, a count column -> the
    count columns that add up to it (one may be no column: the rest); shares: share column -> (numerator,
    denominator) or (numerator, denominator, rest), rest the count column that is denominator minus
    numerator (absent beside attended of invited), so that hiding it hides the share; small_sample: a
    column (median, max) -> the count it rests on, hidden when that count is below threshold; linked:
    cells (row index, column) another table hides where it shows the same count
    (see `linked_cells`); bars: counts shown beside the table (a chart's bars), each the sum of a column
    over some rows, checked with the table's own sums; populations: a count column of persons (cases)
    -> the columns (counts, shares, medians) that describe them: in a row where it is small, every one of
    them is withheld, 0 and empty ones too, so a small group shows nothing all its members share ("0
    declined" of "<5" offered); withheld_rows: rows (indexes) whose persons another table hides as small,
    every value of them withheld. A withheld count is a hidden cell as any other: no group may give it
    back (the reader takes it as 0 or more, or as its floor says). floors: in every row, a count column ->
    the count column it is never below (SIPs -> persons: each person counted had a SIP there), so a
    hidden cell is at least what the reader knows of its floor (the SIPs of a row of "<5" persons are 1
    or more, of ".." persons 5 or more), and a hidden floor at most its shown cell. Returns each bar's
    value, or Suppressed.
    """
    everything = [*rows, *([total] if total is not None else [])]
    shares = {share: _relation(*declared) for share, declared in shares.items()}
    values = _values(everything, counts, shares, sums or {})
    groups = _row_groups(everything, values, sums or {}, shares)
    if total is not None and rows:
        groups += _column_groups(len(rows), values)
    groups += _bar_groups(bars or {}, values, len(rows) if total is not None else None)
    published = {(_BAR, key): bar.shown for key, bar in (bars or {}).items() if bar.shown is not None}
    rows_withheld = _small_groups(everything, populations or {}, withheld_rows or set(), threshold)
    withheld = {
        cell
        for cell in values
        if cell[0] in rows_withheld
        and _describes(cell[1], rows_withheld[cell[0]], sums or {})
        # The small count itself stays "<5"; in a row another table withholds, it is one more fact about
        # those few persons ("<5" beside ".." says it is not 0): withheld as the rest.
        and not (
            cell[0] not in (withheld_rows or set())
            and cell[1] in (populations or {})
            and is_small(values[cell], threshold)
        )
    }
    withheld |= {cell for cell, shown in published.items() if _is_mark(shown, "withheld")}
    small = {cell for cell, value in values.items() if is_small(value, threshold) and cell not in published}
    small |= {cell for cell, shown in published.items() if _is_mark(shown, "small")}
    small -= withheld
    # Shown here, a count another table hides would give that table's hidden cells back.
    extra = {cell for cell in linked or () if values.get(cell, 0) > 0 and cell not in small | withheld}
    extra |= {cell for cell, shown in published.items() if _is_mark(shown, "complementary")}
    # Each floor as one more group: column = floor + what it has over it (0 or more, never shown, never
    # protected: a slack the reader does not know).
    below, free = {}, set()
    for index in range(len(everything)):
        for column, floor in (floors or {}).items():
            cell, under = (index, column), (index, floor)
            if cell in values and under in values:
                slack = (index, ("over", column, floor))
                values[slack] = values[cell] - values[under]
                groups.append((cell, (under, slack)))
                below[cell] = under
                free.add(slack)
    extra |= _complementary(
        values, groups, small, extra, threshold, set(published), withheld, below=below, free=free
    )
    for index, column in small | extra | withheld:
        if index != _BAR and column in counts:
            everything[index][column] = Suppressed(
                threshold, complementary=(index, column) in extra, withheld=(index, column) in withheld
            )
    hidden = small | extra | withheld
    for index, members in rows_withheld.items():
        # A share or median of the group says something of every member too, an empty one (no
        # denominator, no case) as much as any: hidden alike.
        derived = [*shares, *(small_sample or {})]
        for column in derived if ALL in members else members:
            if column not in counts and column in derived:
                everything[index][column] = Suppressed(threshold, withheld=True)
    for index, row in enumerate(everything):
        for share, relation in shares.items():
            # "..", not "<5": a share or a median is no count of persons ("<5" would read as under 5 %).
            if any((index, cell) in hidden for cell in relation) or _any_suppressed(row, *relation[:2]):
                row[share] = Suppressed(threshold, complementary=True)
        for column, basis in (small_sample or {}).items():
            base = row.get(basis)
            if isinstance(base, Suppressed) or (isinstance(base, int) and base < threshold):
                if row.get(column) is not None:
                    row[column] = Suppressed(threshold, complementary=True)
    return {
        key: bar.shown
        if bar.shown is not None
        else Suppressed(threshold, complementary=(_BAR, key) in extra, withheld=(_BAR, key) in withheld)
        if (_BAR, key) in hidden
        else bar.value
        for key, bar in (bars or {}).items()
    }


def _is_mark(shown, kind: str) -> bool:
    """Whether shown is a mark of that kind: "small" ("<5"), "complementary" or "withheld" ("..")."""
    if not isinstance(shown, Suppressed):
        return False
    found = "withheld" if shown.withheld else "complementary" if shown.complementary else "small"
    return found == kind


def _small_groups(everything, populations, withheld_rows, threshold) -> dict[int, set]:
    """Each row (index) that describes a small group: the columns of it to withhold (every one: ALL)."""
    out: dict[int, set] = {index: {ALL} for index in withheld_rows if index < len(everything)}
    for index, row in enumerate(everything):
        for population, members in populations.items():
            value = row.get(population)
            if is_small(value, threshold) or _is_mark(value, "small"):
                out.setdefault(index, set()).update(members)
    return out


# Every value of a row (`withheld_rows`).
ALL = "*"


def _describes(column, members: set, sums) -> bool:
    """Whether a cell of a withheld row is withheld: a member, or a rest or part read from members."""
    if ALL in members or column in members:
        return True
    if isinstance(column, tuple):  # a share's rest: ("rest", numerator, denominator)
        return bool(members & set(column[1:]))
    return any(column in parts and members & {whole, *parts} for whole, parts in sums.items())


def withheld_where_small(
    rows: list[dict], others: list[dict], keys: list[str], column: str, threshold: int
) -> set[int]:
    """The rows (indexes) whose row of others with the same keys counts a small group of persons in column.

    The lead times of a row of "<5" persons in the SIP meeting table tell about those few persons.
    """
    by_key = {tuple(other.get(key) for key in keys): other for other in others}
    out = set()
    for index, row in enumerate(rows):
        value = by_key.get(tuple(row.get(key) for key in keys), {}).get(column)
        if is_small(value, threshold) or _is_mark(value, "small"):
            out.add(index)
    return out


def linked_cells(rows: list[dict], others: list[dict], keys: list[str], links: dict[str, str]) -> set[Cell]:
    """The cells of rows to hide because the row of others with the same keys hides the same count.

    links: column of rows -> column of others counting the same (a table already through suppress_table).
    """
    by_key = {tuple(other.get(key) for key in keys): other for other in others}
    cells = set()
    for index, row in enumerate(rows):
        other = by_key.get(tuple(row.get(key) for key in keys), {})
        cells |= {
            (index, mine) for mine, theirs in links.items() if isinstance(other.get(theirs), Suppressed)
        }
    return cells


def suppress_breakdown(
    rows: list[dict],
    total: dict,
    dims: tuple[str, ...],
    *,
    threshold: int,
    counts: tuple[str, ...],
    additive: tuple[str, ...],
    shares: dict[str, tuple[str, ...]],
    sums: dict[str, tuple[str, ...]] | None = None,
    overlapping: tuple[str, ...] = (),
    populations: dict[str, tuple[str, ...]] | None = None,
    floors: dict[str, str] | None = None,
) -> dict[tuple[str, ...], list[dict]]:
    """Hide in place rows (broken down by dims) and total so that no coarser breakdown gives a cell back.

    The same numbers broken down by fewer of dims (by age band beside by sex and age band, by municipality
    beside by municipality and quarter, the total beside them all) are other tables a reader may ask for:
    each of their cells is a sum of cells here. So the coarsest table is protected first (the total alone),
    then each finer one with the cells of the tables one dimension coarser as published sums (`Bar` with
    shown: never hidden here, a hidden one known only by its mark), so a shown coarser cell over hidden
    cells here has at least two of them hidden. additive: the count columns a coarser cell is the sum of
    (persons are distinct per row: no sum); overlapping: dims by which a record is in several rows
    (organisation kind), never summed over (only the total stays, as the stricter sum). A table protected
    here hides as it does asked for alone. Returns every table protected on the way by its dims, rows in
    the order of their keys (() -> [total]): a chart takes its bars from there.
    """
    rules = {
        "threshold": threshold,
        "counts": counts,
        "shares": shares,
        "sums": sums or {},
        "populations": populations or {},
        "floors": floors or {},
    }
    relations = {share: _relation(*declared) for share, declared in shares.items()}
    real: dict[tuple[str, ...], list[dict]] = {}
    shown: dict[tuple[str, ...], list[dict]] = {}

    def protect(names: tuple[str, ...]) -> None:
        if names in shown:
            return
        if not names:
            real[names] = [dict(total)]
            suppress_table([], total, **rules)
            shown[names] = [total]
            return
        table = rows if names == dims else _summed(rows, names, additive)
        # In the order of the keys: a table protected here and the same table asked for alone hide alike.
        table = sorted(table, key=lambda row: tuple(str(row.get(name)) for name in names))
        real[names] = [dict(row) for row in table]
        coarser = [tuple(n for n in names if n != name) for name in names if name not in overlapping]
        bars = {}
        # The total directly only when no coarser table stands between (by organisation kind alone: as a
        # sum, the stricter reading); else it is the sum of each coarser table, protected with it, and a
        # group over every row would cost each pass over the groups its thousands of cells.
        for coarse in coarser or [()]:
            protect(coarse)
            below = defaultdict(list)
            for index, row in enumerate(table):
                below[tuple(row.get(name) for name in coarse)].append(index)
            for whole, seen in zip(real[coarse], shown[coarse], strict=True):
                key = tuple(whole.get(name) for name in coarse)
                bars |= _published(whole, seen, (coarse, key), tuple(below[key]), counts, relations, rules)
        if () not in coarser:
            # A count that is no sum (persons) is in no coarser table but the total: published there over
            # every row all the same (12 persons over Växjö's 9 and three "<5" would be 1 each).
            protect(())
            every = tuple(range(len(table)))
            published = _published(real[()][0], shown[()][0], ((), ()), every, counts, relations, rules)
            bars |= {
                key: bar
                for key, bar in published.items()
                if bar.column in counts and bar.column not in additive
            }
        suppress_table(table, None, bars=bars, **rules)
        shown[names] = table

    protect(tuple(dims))
    if not dims:
        # Without a breakdown each row (a compared period's) is the total again: hidden as the total is.
        for row in rows:
            suppress_table([], row, **rules)
    return shown


def _summed(rows: list[dict], names: tuple[str, ...], additive: tuple[str, ...]) -> list[dict]:
    """The rows added up by names: the additive columns summed, the rest left out."""
    out: dict[tuple, dict] = {}
    for row in rows:
        key = tuple(row.get(name) for name in names)
        whole = out.setdefault(key, dict(zip(names, key, strict=True)) | dict.fromkeys(additive, 0))
        for column in additive:
            whole[column] += row[column]
    return list(out.values())


def _published(whole, seen, label, indexes, counts, relations, rules) -> dict[object, Bar]:
    """A coarser table's row as fixed bars over the rows below it: each additive count and derived cell."""
    threshold = rules["threshold"]
    values = _values([whole], counts, relations, rules["sums"])
    readable = _values([seen], counts, relations, rules["sums"])
    bars = {}
    # A count that is no sum (persons, distinct per row) is only in the total: taken as the sum there all
    # the same, the stricter reading (a person is mostly in one row).
    for (_, column), value in values.items():
        mark = seen.get(column) if column in counts else None
        known = readable.get((0, column))
        if known is None:
            # A derived cell (a rest) of hidden counts: a 0 is taken as known, the stricter reading.
            known = mark if isinstance(mark, Suppressed) else value if value == 0 else None
        if known is None:
            known = Suppressed(threshold, complementary=not is_small(value, threshold))
        bars[(*label, column)] = Bar(value, column, indexes, known)
    return bars


def _relation(numerator: str, denominator: str, rest: str | None = None) -> tuple[str, str, object]:
    """A share's (numerator, denominator, rest): the rest column named, else a cell of its own."""
    return numerator, denominator, rest if rest is not None else ("rest", numerator, denominator)


def _any_suppressed(row: dict, *columns: str) -> bool:
    """Whether one of the columns of row is hidden."""
    return any(isinstance(row.get(column), Suppressed) for column in columns)


def _values(everything: list[dict], counts, shares, sums) -> dict[Cell, int]:
    """Every countable cell: the count columns, each share's rest and each sum's part that is no column."""
    values: dict[Cell, int] = {}
    for index, row in enumerate(everything):
        for column in counts:
            if _count(row.get(column)):
                values[(index, column)] = row[column]
        for numerator, denominator, rest in dict.fromkeys(shares.values()):
            if isinstance(rest, tuple) and _count(row.get(numerator)) and _count(row.get(denominator)):
                values[(index, rest)] = row[denominator] - row[numerator]
        for whole, parts in sums.items():
            # A part that is no column (offered SIPs neither accepted nor declined) is readable all the
            # same, as the whole minus the other parts.
            missing = [part for part in parts if part not in counts]
            known = [values.get((index, part)) for part in (whole, *parts) if part in counts]
            if len(missing) == 1 and None not in known:
                values[(index, missing[0])] = known[0] - sum(known[1:])
    return values


def _count(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _row_groups(everything, values, sums, shares) -> list[Group]:
    """Per row: each declared sum, and each share's denominator = numerator + rest."""
    relations = list(sums.items())
    # attended + absent = invited and absent + attended = invited are one relation.
    seen = set()
    for numerator, denominator, rest in shares.values():
        if (denominator, frozenset((numerator, rest))) not in seen:
            seen.add((denominator, frozenset((numerator, rest))))
            relations.append((denominator, (numerator, rest)))
    groups = []
    for index in range(len(everything)):
        for whole, parts in relations:
            cells = [(index, whole), *((index, part) for part in parts)]
            # A relation with a cell that is no count (None) shows nothing to subtract from.
            if all(cell in values for cell in cells):
                groups.append((cells[0], tuple(cells[1:])))
    return groups


def _column_groups(total_index: int, values) -> list[Group]:
    """Per column (rests too): the total row's cell = the sum of the rows' cells."""
    columns = dict.fromkeys(column for index, column in values if index == total_index)
    groups = []
    for column in columns:
        parts = tuple((index, column) for index in range(total_index) if (index, column) in values)
        groups.append(((total_index, column), parts))
    return groups


def _bar_groups(bars: dict[object, Bar], values, total_index: int | None) -> list[Group]:
    """Each bar = the sum of its rows' cells; a column's total = the sum of bars covering every row."""
    groups = []
    covered: dict[str, list[int]] = defaultdict(list)
    mine: dict[str, list[Cell]] = defaultdict(list)
    for key, bar in bars.items():
        values[(_BAR, key)] = bar.value
        parts = tuple((index, bar.column) for index in bar.rows if (index, bar.column) in values)
        groups.append(((_BAR, key), parts))
        covered[bar.column] += bar.rows
        mine[bar.column].append((_BAR, key))
    for column, indexes in covered.items():
        whole = (total_index, column)
        if total_index is not None and whole in values and sorted(indexes) == list(range(total_index)):
            groups.append((whole, tuple(mine[column])))
    return groups


def _complementary(
    values,
    groups: list[Group],
    small: set[Cell],
    linked: set[Cell],
    threshold: int,
    fixed: set[Cell],
    withheld: set[Cell] = frozenset(),
    *,
    below: dict[Cell, Cell] | None = None,
    free: set[Cell] = frozenset(),
) -> set[Cell]:
    """The cells to hide as well, until no group gives a hidden cell away (a fixpoint)."""
    reader = _Reader(
        values, groups, small | linked | withheld, small, threshold, withheld, below=below, free=free
    )
    extra: set[Cell] = set()
    todo = deque(range(len(groups)))
    while True:
        while todo:
            number = todo.popleft()
            given = reader.given_away(number)
            if not given:
                continue
            whole, parts = groups[number]
            pick = _next_to_hide(values, whole, parts, reader.hidden, fixed)
            if pick is None:
                # Nothing left here, but a cell given away by what its floor says (8 SIPs beside 8 persons
                # are <5 + <5 = 4 + 4): hiding the floor frees it.
                pick = next(iter(sorted(reader.floors_to_hide(given, fixed), key=values.get)), None)
            if pick is None:
                # Nothing is left to hide here (4 = <5 + <5 + <5 + <5 is 1 each): the reader knows these
                # cells, so the other groups they are in must protect their neighbours without them.
                for cell in given:
                    todo.extend(reader.learn(cell))
                continue
            extra.add(pick)
            # A cell hidden for a row may leave a column exposed, and the other way round.
            todo.extend(reader.hide(pick))
        # No group gives a cell away alone; what one group proves may still narrow another's cells.
        if fixed and len(groups) > CHAIN_GROUPS:
            return extra
        pinned, why = reader.pinned()
        if not pinned:
            return extra
        # A cell to hide for each pinned cell at once (each pass over every group costs): a table beside
        # published coarser sums may have many.
        picks = {cell: _along_the_chain(values, groups, reader, [cell], why, fixed) for cell in pinned}
        if all(pick is None for pick in picks.values()):
            # Nothing that narrowed them is left to hide: as above, the reader knows these cells.
            for cell in pinned:
                todo.extend(reader.learn(cell))
            continue
        for pick in dict.fromkeys(pick for pick in picks.values() if pick is not None):
            if pick not in reader.hidden:
                extra.add(pick)
                todo.extend(reader.hide(pick))


def _along_the_chain(values, groups: list[Group], reader: _Reader, pinned, why, fixed) -> Cell | None:
    """The smallest cell to hide among the groups that pinned the cells, else those that narrowed them.

    Torsås's first meetings are pinned by its row, which has nothing left to show; its follow-ups there
    were narrowed by the follow-up column, where a shown cell can go. One cell at a time: it may free
    every cell of the chain at once.
    """
    seen_cells, seen_groups = set(pinned), set()
    layer = list(pinned)
    while layer:
        numbers = [n for cell in layer for n in why.get(cell, ()) if n not in seen_groups]
        seen_groups.update(numbers)
        picks = [_next_to_hide(values, *groups[number], reader.hidden, fixed) for number in numbers]
        picks = [pick for pick in picks if pick is not None]
        # Else a cell of the chain whose least value its floor sets (6 SIPs beside 6 persons): the floor.
        picks = picks or sorted(reader.floors_to_hide(layer, fixed), key=values.get)
        if picks:
            return min(picks, key=lambda cell: values[cell])
        layer = [cell for n in numbers for cell in reader.unknown[n] if cell not in seen_cells]
        seen_cells.update(layer)
    return None


class _Reader:
    """What a reader knows of a cell: a shown one exactly, a "<5" is 1 to 4, a ".." at least threshold.

    Each group keeps the sums of its parts' bounds, brought up to date as cells are hidden or learnt, so
    that checking a group (a column of a thousand rows, checked again after each hide in it) costs its
    hidden cells, not its rows.
    """

    def __init__(
        self,
        values,
        groups: list[Group],
        hidden: set[Cell],
        small: set[Cell],
        threshold: int,
        withheld: set[Cell] = frozenset(),
        *,
        below: dict[Cell, Cell] | None = None,
        free: set[Cell] = frozenset(),
    ):
        self.values, self.groups, self.small, self.threshold = values, groups, small, threshold
        self.withheld, self.free = withheld, free
        # A cell -> its floor in the row (SIPs -> persons), and each floor -> the cells above it.
        self.below = below or {}
        self.above: dict[Cell, list[Cell]] = defaultdict(list)
        for cell, under in self.below.items():
            self.above[under].append(cell)
        self.hidden = set(hidden) | set(free)
        # Hidden cells a group pins all the same (and nothing is left to hide in it): known exactly.
        self.known: set[Cell] = set()
        self.member: dict[Cell, list[int]] = defaultdict(list)
        self.sums: list[_Sums] = []
        # Each group's hidden cells in the group's order, then as hidden (dicts as ordered sets): the ties
        # between equal cells fall alike in every process (a set's order follows the process's string hash).
        self.unknown: list[dict[Cell, None]] = []
        for number, (whole, parts) in enumerate(groups):
            for cell in (whole, *parts):
                self.member[cell].append(number)
            self.sums.append(_Sums.of(self.bounds(part) for part in parts))
            self.unknown.append(dict.fromkeys(cell for cell in (whole, *parts) if cell in self.hidden))

    def bounds(self, cell: Cell) -> tuple[float, float]:
        """The least and greatest value the reader can give cell: as shown, else as its mark and floor say."""
        low, high = self._marked(cell)
        under = self.below.get(cell)
        if under is not None and low < high:
            # The SIPs of a row of "<5" persons: withheld, 0 or more by their mark, 1 or more by the row.
            low = max(low, self._marked(under)[0])
        return low, high

    def _marked(self, cell: Cell) -> tuple[float, float]:
        """The least and greatest value of cell by what it shows (its mark, when hidden) alone."""
        if cell in self.free:
            return 0, math.inf
        if cell not in self.hidden or cell in self.known:
            return self.values[cell], self.values[cell]
        if cell in self.withheld:
            return 0, math.inf
        return (1, self.threshold - 1) if cell in self.small else (self.threshold, math.inf)

    def floors_to_hide(self, cells, fixed: set[Cell]) -> list[Cell]:
        """The shown positive floors of cells (their rows' persons), which another table does not publish;
        in the order of cells."""
        floors = dict.fromkeys(self.below.get(cell) for cell in cells)
        shown = [c for c in floors if c is not None and c not in self.hidden and c not in fixed]
        return [c for c in shown if self.values[c] > 0]

    def hide(self, cell: Cell) -> list[int]:
        """Hide cell; the groups it is in (to check again)."""
        return self._change(cell, lambda: self.hidden.add(cell), known=False)

    def learn(self, cell: Cell) -> list[int]:
        """The reader can tell cell's value although it is hidden; the groups it is in."""
        return self._change(cell, lambda: self.known.add(cell), known=True)

    def _change(self, cell: Cell, change, *, known: bool) -> list[int]:
        # The cells above it (its floor's) change their bounds with it.
        changed = [cell, *self.above.get(cell, ())]
        before = [self.bounds(one) for one in changed]
        change()
        touched: list[int] = []
        for one, was in zip(changed, before, strict=True):
            now = self.bounds(one)
            for number in self.member[one]:
                whole, _ = self.groups[number]
                if one != whole and now != was:
                    self.sums[number] = self.sums[number].replace(was, now)
                if one == cell:
                    if known:
                        self.unknown[number].pop(cell, None)
                    else:
                        self.unknown[number][cell] = None
            if one == cell or now != was:
                touched += self.member[one]
        return list(dict.fromkeys(touched))

    def given_away(self, number: int) -> list[Cell]:
        """The hidden cells of the group its sum leaves one value (a lone hidden cell always).

        A part c with bounds [a, b] can lie in [whole_low - others_high, whole_high - others_low]; that
        meets [a, b] in one point only when whole_low >= (every part's high summed: all at their
        greatest), when whole_high <= (every low summed: all at their least), or when the whole and every
        other part are exact (c is the lone unknown). So a group is read in constant time, whatever its
        size: 8 shown = <5 + <5 can only be 4 + 4, 6 shown = <5 + .. only 1 + 5 (a ".." pinned would be
        a shown number to the groups it protects a small cell in).
        """
        whole, _ = self.groups[number]
        unknown = self.unknown[number]
        if not unknown:
            return set()
        sums = self.sums[number]
        whole_low, whole_high = self.bounds(whole)
        parts = [cell for cell in unknown if cell != whole]
        given: list[Cell] = []
        if parts and (whole_low >= sums.high() or whole_high <= sums.low):
            given += parts
        elif len(parts) == 1 and whole_low == whole_high:
            given += parts
        if whole in unknown:
            own_low, own_high = self.bounds(whole)
            if max(sums.low, own_low) >= min(sums.high(), own_high):
                given.append(whole)
        # A floor's slack is no count anyone is shown: nothing to protect.
        return [cell for cell in given if cell not in self.free]

    def pinned(self) -> tuple[list[Cell], dict[Cell, list[int]]]:
        """The hidden cells all groups together leave one value; for every cell, the groups that narrowed it.

        Bounds propagation to a fixpoint: every hidden cell starts at what its mark says, and each group
        (whole = sum of parts) narrows its whole to the parts' summed bounds and each part to the whole
        minus the others' bounds, until nothing changes. Torsås's 16 SIPs = <5 + .. keep its follow-ups
        at 12 to 15, which the follow-up column's 17 = .. + .. for Högsby and Torsås turns into 12 and 5.
        """
        low: dict[Cell, float] = {}
        high: dict[Cell, float] = {}
        why: dict[Cell, list[int]] = defaultdict(list)
        fixed: list[float] = []
        for number, (whole, _) in enumerate(self.groups):
            parts = [cell for cell in self.unknown[number] if cell != whole]
            fixed.append(self.sums[number].low - sum(self.bounds(cell)[0] for cell in parts))
            for cell in self.unknown[number]:
                low[cell], high[cell] = self.bounds(cell)
        todo = deque(number for number, unknown in enumerate(self.unknown) if unknown)
        queued = set(todo)
        # Narrowing around cycles of groups (a table beside its published coarser sums) can creep by one a
        # pass: the passes are bounded, so what is found is sound but a long chain may go unnoticed.
        budget = PROPAGATION_PASSES * len(todo)
        while todo and budget > 0:
            budget -= 1
            number = todo.popleft()
            queued.discard(number)
            whole, _ = self.groups[number]
            parts = [cell for cell in self.unknown[number] if cell != whole]
            parts_low = fixed[number] + sum(low[cell] for cell in parts)
            finite = [high[cell] for cell in parts if high[cell] != math.inf]
            unbounded = len(parts) - len(finite)
            parts_high = math.inf if unbounded else fixed[number] + sum(finite)
            whole_low, whole_high = (low[whole], high[whole]) if whole in low else self.bounds(whole)
            changed = []
            if whole in low:
                changed += self._narrow(low, high, why, whole, parts_low, parts_high, number)
                whole_low, whole_high = low[whole], high[whole]
            for cell in parts:
                others_low = parts_low - low[cell]
                if high[cell] == math.inf:
                    others_high = math.inf if unbounded > 1 else fixed[number] + sum(finite)
                else:
                    others_high = parts_high - high[cell]
                changed += self._narrow(
                    low, high, why, cell, whole_low - others_high, whole_high - others_low, number
                )
            for cell in changed:
                for other in self.member[cell]:
                    if other not in queued:
                        queued.add(other)
                        todo.append(other)
        return [cell for cell in low if low[cell] >= high[cell] and cell not in self.free], why

    @staticmethod
    def _narrow(low, high, why, cell: Cell, new_low: float, new_high: float, number: int) -> list[Cell]:
        """Narrow cell's bounds to [new_low, new_high]; [cell] when they changed, else []."""
        if new_low <= low[cell] and new_high >= high[cell]:
            return []
        low[cell], high[cell] = max(low[cell], new_low), min(high[cell], new_high)
        if number not in why[cell]:
            why[cell].append(number)
        return [cell]


@dataclass(frozen=True)
class _Sums:
    """The sums of a group's parts' bounds; unbounded upper bounds are counted apart (inf - inf is none)."""

    low: float
    finite_high: float
    unbounded: int

    @classmethod
    def of(cls, bounds) -> _Sums:
        bounds = list(bounds)
        highs = [high for _, high in bounds]
        return cls(
            sum(low for low, _ in bounds),
            sum(high for high in highs if high != math.inf),
            sum(high == math.inf for high in highs),
        )

    def high(self) -> float:
        return math.inf if self.unbounded else self.finite_high

    def replace(self, before: tuple[float, float], after: tuple[float, float]) -> _Sums:
        """The sums with one part's bounds changed."""
        less = _Sums(
            self.low - before[0],
            self.finite_high - (0 if before[1] == math.inf else before[1]),
            self.unbounded - (before[1] == math.inf),
        )
        return _Sums(
            less.low + after[0],
            less.finite_high + (0 if after[1] == math.inf else after[1]),
            less.unbounded + (after[1] == math.inf),
        )


def _next_to_hide(
    values, whole: Cell, parts: tuple[Cell, ...], hidden: set[Cell], fixed: set[Cell]
) -> Cell | None:
    """The smallest shown positive part (a 0 hides nothing: it is known), else the whole; a bar first.

    A cell another table publishes (fixed) is never picked: hiding it here would not unpublish it.
    """
    if whole[0] == _BAR and whole not in hidden and whole not in fixed and values[whole] > 0:
        # A bar sums up cells the table shows in detail: hiding it costs the reader less.
        return whole
    shown = [cell for cell in parts if cell not in hidden and cell not in fixed and values[cell] > 0]
    if shown:
        return min(shown, key=lambda cell: values[cell])
    # Only zeros are left beside the hidden part: the whole would equal it, so the whole must go.
    if whole not in hidden and whole not in fixed and values[whole] > 0:
        return whole
    return None


def plain(value):
    """A cell as exports and JSON carry it: a hidden value as its text, anything else unchanged."""
    return str(value) if isinstance(value, Suppressed) else value
