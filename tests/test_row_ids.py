"""sipflow.routing.row_id: the one parser of a row id typed as text (a page cursor, an id a form sends)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sipflow.routing import MAX_ROW_ID, cursor_text, cursor_token, row_id


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


_CURSOR_TEXT = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=60)


@given(_CURSOR_TEXT)
def test_every_cursor_token_reads_back(raw):
    assert cursor_text(cursor_token(raw), 200) == raw


@given(_CURSOR_TEXT, st.integers(min_value=0), st.sampled_from("!*.~ /+é"))
def test_a_token_edited_outside_its_alphabet_reads_as_nothing(raw, at, foreign):
    # The standard decoder skips such characters: the edited token read as a cursor all the same.
    token = cursor_token(raw)
    position = at % (len(token) + 1)
    assert cursor_text(token[:position] + foreign + token[position:], 200) is None


def test_a_token_longer_than_allowed_reads_as_nothing():
    assert cursor_text(cursor_token("x" * 30), 39) is None
    assert cursor_text(cursor_token("x" * 30), 40) == "x" * 30
