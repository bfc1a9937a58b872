"""Disclosure control hides the same cells in every process: the quarterly report for a past quarter must
not show one share today and hide it tomorrow.

A county's coordinator pulled a decade of SIP statistics by quarter and sex twice at year-end: 2015 K3's
share of SIPs where the person took part was "93,0" in one export and ".." in the next, and 2024 K3's the
other way round. Each process (a gunicorn worker, a `sipflow stats` run) salts the hash of strings anew,
and complementary suppression took the hidden cells of a group, and the cells a group gives away, in the
order of sets of cells: which of two equal cells went with a small one depended on the process. Two
exports that hide different complementary cells give each other's hidden cells back, and with them the
small counts they protect.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

from sipflow.config import PROJECT_ROOT
from sipflow.stats.services import MEETING_RULES

# Five quarters of that county's SIP meeting table by sex (quarter, sex, persons, SIPs, first meetings,
# follow-ups, by video, digital, classified, with a relative present, with the person present), the
# fewest rows that still hid differently from one process to the next.
ROWS = (
    ("2015 K2", "female", 31, 33, 22, 11, 10, 14, 33, 7, 28),
    ("2015 K2", "male", 34, 36, 23, 13, 4, 8, 36, 7, 32),
    ("2015 K2", "unknown", 1, 1, 1, 0, 1, 1, 1, 0, 0),
    ("2018 K3", "female", 42, 44, 21, 23, 7, 9, 44, 15, 40),
    ("2018 K3", "male", 62, 65, 29, 36, 9, 18, 65, 15, 60),
    ("2018 K3", "unknown", 3, 3, 2, 1, 1, 2, 3, 0, 3),
    ("2021 K4", "female", 71, 81, 30, 51, 21, 32, 81, 18, 71),
    ("2021 K4", "male", 58, 63, 27, 36, 15, 18, 63, 15, 57),
    ("2021 K4", "unknown", 3, 3, 1, 2, 1, 1, 3, 0, 2),
    ("2023 K3", "female", 96, 111, 41, 70, 36, 53, 111, 33, 98),
    ("2023 K3", "male", 93, 99, 39, 60, 38, 52, 99, 29, 91),
    ("2023 K3", "unknown", 4, 5, 1, 4, 2, 2, 5, 3, 4),
    ("2024 K3", "female", 49, 50, 22, 28, 10, 11, 50, 11, 48),
    ("2024 K3", "male", 55, 57, 29, 28, 14, 20, 57, 12, 52),
    ("2024 K3", "unknown", 2, 2, 1, 1, 0, 0, 2, 0, 2),
)
# Persons are distinct over the whole period: no sum of the rows'.
TOTAL_PERSONS = 276

PROGRAM = textwrap.dedent(
    """
    import sys

    from sipflow.stats.disclosure import plain, suppress_breakdown

    table, total_persons, MEETING_RULES = eval(sys.stdin.read())
    counts = MEETING_RULES["counts"]
    rows = [{"quarter": row[0], "sex": row[1], **dict(zip(counts, row[2:]))} for row in table]
    total = {column: sum(row[column] for row in rows) for column in counts} | {"persons": total_persons}
    for row in (*rows, total):
        for share, (numerator, denominator) in MEETING_RULES["shares"].items():
            row[share] = round(100 * row[numerator] / row[denominator], 1) if row[denominator] else None
    suppress_breakdown(rows, total, ("quarter", "sex"), threshold=5, **MEETING_RULES)
    print([[plain(value) for value in row.values()] for row in (*rows, total)])
    """
)


def _shown_under(seed: int) -> str:
    """The table as shown by a process that salts its string hashes with seed."""
    environment = {**os.environ, "PYTHONHASHSEED": str(seed), "PYTHONPATH": str(PROJECT_ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", PROGRAM],
        input=repr((ROWS, TOTAL_PERSONS, MEETING_RULES)),
        capture_output=True,
        text=True,
        env=environment,
        cwd=PROJECT_ROOT,
        check=True,
    )
    return done.stdout.strip()


def test_the_same_table_hides_the_same_cells_whatever_the_processs_hash_seed():
    shown = {seed: _shown_under(seed) for seed in range(8)}
    assert len(set(shown.values())) == 1, shown
    # The table hides something: the "<5" rows of persons of unknown sex and the cells that protect them.
    assert "'<5'" in shown[0] and "'..'" in shown[0]
