"""Disclosure control, the one place: small counts become "<5" before any table, chart, export or answer.

A count of 1 to threshold-1 could point at a person, so it is shown as "<threshold". A share is hidden
when its numerator or denominator is hidden, a median or maximum when it rests on fewer than threshold
cases. Where a column has a total, a single hidden cell could be recomputed as the total minus the others:
complementary suppression hides the next smallest cell of that column as well, shown as "..".
"""

from __future__ import annotations

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
    return isinstance(value, int) and 0 < value < threshold


def suppress_table(
    rows: list[dict],
    total: dict | None,
    *,
    threshold: int,
    counts: tuple[str, ...],
    shares: dict[str, tuple[str, str]],
    small_sample: dict[str, str] | None = None,
) -> None:
    """Hide in place the small counts of rows and total, the shares built on them and complementary cells.

    counts: the count columns; shares: share column -> (numerator, denominator); small_sample: a column
    (median, max) -> the count it rests on, hidden when that count is below threshold.
    """
    mark = Suppressed(threshold)
    everything = [*rows, *([total] if total is not None else [])]
    hidden: dict[str, set[int]] = {column: set() for column in counts}
    extra: dict[str, set[int]] = {column: set() for column in counts}
    for column in counts:
        for index, row in enumerate(everything):
            if is_small(row.get(column), threshold):
                hidden[column].add(index)
    if total is not None and rows:
        for column in counts:
            in_rows = [i for i in hidden[column] if i < len(rows)]
            if len(in_rows) == 1 and len(rows) not in hidden[column]:
                # The total minus the shown cells would give the hidden one back: hide one more.
                candidates = [
                    i
                    for i, row in enumerate(rows)
                    if i not in hidden[column] and isinstance(row.get(column), int) and row[column] > 0
                ]
                if candidates:
                    extra[column].add(min(candidates, key=lambda i: rows[i][column]))
                else:
                    extra[column].add(len(rows))  # only the total is left to give it away
    for column, indexes in hidden.items():
        for index in indexes:
            everything[index][column] = mark
        for index in extra[column]:
            everything[index][column] = Suppressed(threshold, complementary=True)
    for row in everything:
        for share, (numerator, denominator) in shares.items():
            if isinstance(row.get(numerator), Suppressed) or isinstance(row.get(denominator), Suppressed):
                row[share] = mark
        for column, basis in (small_sample or {}).items():
            base = row.get(basis)
            if isinstance(base, Suppressed) or (isinstance(base, int) and base < threshold):
                if row.get(column) is not None:
                    row[column] = mark


def plain(value):
    """A cell as exports and JSON carry it: a hidden value as its text, anything else unchanged."""
    return str(value) if isinstance(value, Suppressed) else value
