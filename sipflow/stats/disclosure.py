"""Disclosure control, the one place: small counts become "<5" before any table, chart, export or answer.

A count of 1 to threshold-1 could point at a person, so it is shown as "<threshold". A table says which
cells add up: each column to its total row, and in each row the columns of `sums` (whole -> parts); a
share (numerator, denominator) adds up too, as denominator = numerator + the rest. In every such group a
hidden cell must never be the only hidden one, else the whole minus the shown parts gives it back:
complementary suppression hides the next smallest positive cell of the group as well (or the group's
whole), shown as "..", and re-checks every group the new hide touches until none has a single hidden cell.
A share is hidden when its numerator, its denominator or its rest is hidden (so neither a small count nor a
small complement can be read from it); a median or maximum when it rests on fewer than threshold cases.
"""

from __future__ import annotations

from collections import defaultdict, deque
from dataclasses import dataclass


@dataclass(frozen=True)
class Suppressed:
    """A hidden value: "<threshold" for a small one, ".." for one hidden only so a small one stays hidden."""

    threshold: int
    complementary: bool = False

    def __str__(self) -> str:
        return ".." if self.complementary else f"<{self.threshold}"


def is_small(value, threshold: int) -> bool:
    """A count that must not be shown: 1 to threshold-1 (0 says nothing about anyone)."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < threshold


# A cell: (row index, column); the total row has index len(rows). A share's rest is the column
# ("rest", numerator, denominator), never written back: it is readable as denominator minus numerator.
Cell = tuple[int, object]
# A group: (whole, parts), whole = sum of parts.
Group = tuple[Cell, tuple[Cell, ...]]


def suppress_table(
    rows: list[dict],
    total: dict | None,
    *,
    threshold: int,
    counts: tuple[str, ...],
    shares: dict[str, tuple[str, str]],
    small_sample: dict[str, str] | None = None,
    sums: dict[str, tuple[str, ...]] | None = None,
    linked: set[Cell] | None = None,
) -> None:
    """Hide in place the small counts of rows and total, the shares built on them and complementary cells.

    counts: the count columns, each adding up to the total row; sums: in every row, a count column -> the
    count columns that add up to it; shares: share column -> (numerator, denominator); small_sample: a column
    (median, max) -> the count it rests on, hidden when that count is below threshold; linked: cells
    (row index, column) another table hides where it shows the same count (see `linked_cells`).
    """
    everything = [*rows, *([total] if total is not None else [])]
    values = _values(everything, counts, shares)
    groups = _row_groups(everything, values, sums or {}, shares)
    if total is not None and rows:
        groups += _column_groups(len(rows), values)
    small = {cell for cell, value in values.items() if is_small(value, threshold)}
    # Shown here, a count another table hides would give that table's hidden cells back.
    extra = {cell for cell in linked or () if values.get(cell, 0) > 0 and cell not in small}
    extra |= _complementary(values, groups, small | extra)
    for index, column in small | extra:
        if isinstance(column, str):
            everything[index][column] = Suppressed(threshold, complementary=(index, column) in extra)
    hidden = small | extra
    for index, row in enumerate(everything):
        for share, (numerator, denominator) in shares.items():
            parts = ((index, numerator), (index, denominator), (index, ("rest", numerator, denominator)))
            if any(cell in hidden for cell in parts) or _any_suppressed(row, numerator, denominator):
                row[share] = Suppressed(threshold)
        for column, basis in (small_sample or {}).items():
            base = row.get(basis)
            if isinstance(base, Suppressed) or (isinstance(base, int) and base < threshold):
                if row.get(column) is not None:
                    row[column] = Suppressed(threshold)


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


def _any_suppressed(row: dict, *columns: str) -> bool:
    """Whether one of the columns was already hidden before this call (a caller's own Suppressed)."""
    return any(isinstance(row.get(column), Suppressed) for column in columns)


def _values(everything: list[dict], counts, shares) -> dict[Cell, int]:
    """Every countable cell: the count columns and, for each share, its rest (denominator - numerator)."""
    values: dict[Cell, int] = {}
    for index, row in enumerate(everything):
        for column in counts:
            if _count(row.get(column)):
                values[(index, column)] = row[column]
        for numerator, denominator in dict.fromkeys(shares.values()):
            if _count(row.get(numerator)) and _count(row.get(denominator)):
                values[(index, ("rest", numerator, denominator))] = row[denominator] - row[numerator]
    return values


def _count(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _row_groups(everything, values, sums, shares) -> list[Group]:
    """Per row: each declared sum, and each share's denominator = numerator + rest."""
    relations = list(sums.items())
    relations += [(d, (n, ("rest", n, d))) for n, d in dict.fromkeys(shares.values())]
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


def _complementary(values, groups: list[Group], already: set[Cell]) -> set[Cell]:
    """The cells to hide as well, until no group has exactly one hidden cell (a fixpoint)."""
    member: dict[Cell, list[int]] = defaultdict(list)
    for number, (whole, parts) in enumerate(groups):
        for cell in (whole, *parts):
            member[cell].append(number)
    hidden, extra = set(already), set()
    todo = deque(range(len(groups)))
    while todo:
        whole, parts = groups[todo.popleft()]
        if sum(cell in hidden for cell in (whole, *parts)) != 1:
            continue
        pick = _next_to_hide(values, whole, parts, hidden)
        if pick is None:
            continue
        hidden.add(pick)
        extra.add(pick)
        # A cell hidden for a row may leave a column with one hidden cell, and the other way round.
        todo.extend(member[pick])
    return extra


def _next_to_hide(values, whole: Cell, parts: tuple[Cell, ...], hidden: set[Cell]) -> Cell | None:
    """The smallest shown positive part (a 0 hides nothing: it is known), else the whole."""
    shown = [cell for cell in parts if cell not in hidden and values[cell] > 0]
    if shown:
        return min(shown, key=lambda cell: values[cell])
    # Only zeros are left beside the hidden part: the whole would equal it, so the whole must go.
    if whole not in hidden and values[whole] > 0:
        return whole
    return None


def plain(value):
    """A cell as exports and JSON carry it: a hidden value as its text, anything else unchanged."""
    return str(value) if isinstance(value, Suppressed) else value
