"""A workbook whose zip is sound but whose sheet's compressed data is damaged (a copy cut short or a bit
flipped in transit) is refused at line 1 as unreadable, like any workbook sipflow cannot read: zlib's error
was not among the ones caught, and the import answered 500 (its traceback in the log)."""

from __future__ import annotations

import functools
import io
import zipfile

import pytest
from directorykit import HEADER
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_import_excel_habits import REGION, organisations, refusals, run, workbook_of

from sipflow.admin import imports

pytestmark = pytest.mark.usefixtures("frozen_clock")

SHEET = "xl/worksheets/sheet1.xml"


def _damaged(data: bytes) -> bytes:
    """The workbook with bytes of its first sheet's compressed data flipped (its zip entry left intact)."""
    info = zipfile.ZipFile(io.BytesIO(data)).getinfo(SHEET)
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    damaged = bytearray(data)
    for at in range(start + 5, start + 25):
        damaged[at] ^= 0xFF
    return bytes(damaged)


def test_a_workbook_with_a_damaged_sheet_is_refused_as_unreadable(db_session, app_ctx, now):
    data = _damaged(workbook_of(HEADER.split(";"), REGION.split(";")))
    report = run(db_session, now, data, apply=True)
    ((line, _column, message),) = refusals(report)
    assert line == 1 and message.startswith("Filen går inte att läsa som en Excel-arbetsbok")
    assert organisations(db_session) == []


@functools.cache
def _sound_workbook() -> bytes:
    # One workbook for every example: openpyxl writes the time into each one it saves, and an example's
    # positions are drawn within its length.
    return workbook_of(HEADER.split(";"), REGION.split(";"))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_no_damage_to_a_workbook_makes_the_import_fail_unsaid(data):
    """Bytes flipped anywhere, or the file cut short: read_rows answers with rows or a refusal, never an
    exception (a 500)."""
    workbook = _sound_workbook()
    if data.draw(st.booleans(), label="cut short"):
        damaged = workbook[: data.draw(st.integers(4, len(workbook) - 1), label="kept")]
    else:
        positions = data.draw(st.lists(st.integers(4, len(workbook) - 1), min_size=1, max_size=8))
        flipped = bytearray(workbook)
        for at in positions:
            flipped[at] ^= data.draw(st.integers(1, 255), label="mask")
        damaged = bytes(flipped)
    rows, errors = imports.read_rows(damaged)
    assert rows or errors
