"""sipflow.routing.row_id: the one parser of a row id typed as text (a page cursor, an id a form sends)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sipflow.routing import MAX_ROW_ID, row_id


@pytest.mark.parametrize(
    "text",
    ["", "0", "-1", "+1", " 7", "7 ", "1.0", "abc", "²", "¹", "①", "٣", "７", "4" * 4400, "9" * 11, None, 7],
)
def test_what_names_no_row_is_none(text):
    assert row_id(text) is None


def test_the_largest_id_a_column_holds_is_the_last_taken():
    assert row_id(str(MAX_ROW_ID)) == MAX_ROW_ID
    assert row_id(str(MAX_ROW_ID + 1)) is None
    assert row_id("0042") == 42


@given(st.integers(min_value=1, max_value=MAX_ROW_ID))
def test_every_id_a_column_holds_reads_back(number):
    assert row_id(str(number)) == number


@given(st.text(max_size=12))
def test_any_text_is_an_id_in_range_or_none(text):
    parsed = row_id(text)
    assert parsed is None or (1 <= parsed <= MAX_ROW_ID and text.isascii() and int(text) == parsed)
