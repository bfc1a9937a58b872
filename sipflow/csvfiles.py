"""The CSV files administrators upload (the directory import, the KVÅ code catalogue), read one way.

Excel saves CSV with ';' between columns in a Swedish locale and ',' elsewhere, and text with a tab: the
header line decides (`delimiter_of`), for every file read here. The csv module's own cap on one field
(128 KiB, process-wide) would make a long value an unreadable line with no column named; the uploads are
capped in bytes before they are read (2 MB at most), so that cap is raised here to FIELD_LIMIT and each
reader checks its columns against their own limits (`too_long`), naming the column and the limit.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass

from sipflow.lengths import fits
from sipflow.lengths import too_long as too_long_message

# Above every upload's size cap, so a field never trips the csv module's limit (see the module docstring).
FIELD_LIMIT = 4 * 1024 * 1024
csv.field_size_limit(max(csv.field_size_limit(), FIELD_LIMIT))


@dataclass(frozen=True)
class LineError:
    """What is wrong with one line of a file (line 1 is the header), and in which column."""

    line: int
    message: str
    column: str | None = None


def delimiter_of(text: str) -> str:
    """The separator the first line holds most of: ';', a tab (Excel's "Text (tab-delimited)", or cells
    copied from Excel into a text file) or ',' (also when it holds none)."""
    first = text.split("\n", 1)[0]
    return max((",", ";", "\t"), key=first.count)


def records(text: str) -> Iterator[tuple[int, list[str] | None]]:
    """(line number, cells) of each record of a CSV text (a byte-order mark dropped, either separator).

    A record the csv module cannot read yields (its line, None) and ends the file.
    """
    text = text.lstrip("\ufeff")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter_of(text))
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error:
            yield reader.line_num, None
            return
        yield reader.line_num, row


def too_long(line: int, cells: dict[str, str], limits: dict[str, int]) -> LineError | None:
    """The first column of cells (in limits' order) longer than its limit, as an error of line; else None."""
    for column, limit in limits.items():
        if not fits(cells.get(column), limit):
            return LineError(line, str(too_long_message(limit)), column)
    return None
