"""The one rule of whether a typed text identifies someone (people.identifying): the parser's parts.

A valid personnummer or samordningsnummer is found however its digits are written apart where people split
such a number; a phone-like digit string whose check digit is wrong never is; a name matches as a whole
word, without case and accents, with a genitive -s and with punctuation inside the word taken out.
"""

from __future__ import annotations

import string
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sipflow.errors import InvalidInput
from sipflow.people.identifiers import luhn_check_digit
from sipflow.people.identifying import (
    PURPOSE_IDENTIFIES,
    holds_identifier,
    name_words,
    names_in,
    refuse_identifying_purpose,
)

TODAY = date(2026, 11, 2)
SEPARATORS = st.text(alphabet=" -./,+\u200b_", min_size=1, max_size=3).filter(lambda s: "+" not in s)
AROUND = st.text(alphabet=string.ascii_letters + " ,åäö()", max_size=12)


def _number(day: date, serial: int, *, coordination: bool) -> str:
    """The ten digits YYMMDDNNNC of a valid identifier born on day."""
    yymmdd = f"{day:%y%m}{day.day + (60 if coordination else 0):02d}"
    nine = f"{yymmdd}{serial:03d}"
    return f"{nine}{luhn_check_digit(nine)}"


def _written_apart(digits: str, cuts: set[int], separators: list[str]) -> str:
    pieces, start = [], 0
    for cut in sorted(cuts):
        pieces.append(digits[start:cut])
        start = cut
    pieces.append(digits[start:])
    return "".join(
        piece + (separators[i % len(separators)] if i < len(pieces) - 1 else "")
        for i, piece in enumerate(pieces)
    )


@given(
    day=st.dates(min_value=date(1927, 1, 1), max_value=TODAY),
    serial=st.integers(min_value=0, max_value=999),
    coordination=st.booleans(),
    long_form=st.booleans(),
    date_cuts=st.sets(st.sampled_from([2, 4, 6])),
    tail_cuts=st.sets(st.integers(min_value=1, max_value=3)),
    separators=st.lists(SEPARATORS, min_size=1, max_size=4),
    before=AROUND,
    after=AROUND,
)
def test_a_valid_identifier_written_apart_is_found(
    day, serial, coordination, long_form, date_cuts, tail_cuts, separators, before, after
):
    ten = _number(day, serial, coordination=coordination)
    digits = f"{day.year // 100}{ten}" if long_form else ten
    date_end = len(digits) - 4
    cuts = {c for c in date_cuts if c < date_end} | {date_end} | {date_end + c for c in tail_cuts}
    if not long_form and (TODAY.year - day.year, TODAY.month, TODAY.day) >= (100, day.month, day.day):
        cuts.discard(date_end)  # written apart below with "+", as a hundred-year-old's short form is
        text = _written_apart(digits[:6], {c for c in cuts if c < 6}, separators) + "+" + digits[6:]
    else:
        text = _written_apart(digits, cuts, separators)
    assert holds_identifier(f"{before} {text} {after}", today=TODAY), text


@given(
    day=st.dates(min_value=date(1930, 1, 1), max_value=TODAY),
    serial=st.integers(min_value=0, max_value=999),
    separator=st.sampled_from([" ", "\u200b", "-"]),
)
def test_a_number_spaced_digit_by_digit_is_found(day, serial, separator):
    digits = f"{day.year // 100}{_number(day, serial, coordination=False)}"
    assert holds_identifier(separator.join(digits), today=TODAY)


def _wrong_check_digit(digits: str) -> str:
    """digits with its last digit changed when the ten read as YYMMDDNNNC would have the check digit right."""
    if len(digits) == 10 and int(digits[-1]) == luhn_check_digit(digits[:9]):
        return digits[:-1] + str((int(digits[-1]) + 1) % 10)
    return digits


@given(
    digits=st.text(alphabet=string.digits, min_size=5, max_size=10).map(lambda d: "0" + d[1:]),
    cuts=st.sets(st.integers(min_value=1, max_value=9), max_size=4),
    separators=st.lists(st.sampled_from([" ", "-", " - ", ".", "/"]), min_size=1, max_size=3),
)
def test_a_phone_like_digit_string_with_a_wrong_check_digit_is_not_found(digits, cuts, separators):
    written = _written_apart(_wrong_check_digit(digits), {c for c in cuts if c < len(digits)}, separators)
    assert not holds_identifier(f"Ring {written} vid entrén", today=TODAY), written


@pytest.mark.parametrize(
    "text",
    [
        "Ring 070-123 45 67",  # a mobile number: its area code splits the date's pairs
        "tel 0470-123 45",
        "Storgatan 5, 352 30 Växjö",
        "Mötet 2026-11-02 kl 10.15",
        "2026-11-02 10:15",  # ":" is a time, never a separator
        "Rum 12, våning 3",
    ],
)
def test_everyday_numbers_pass(text):
    assert not holds_identifier(text, today=TODAY)


@pytest.mark.parametrize(
    "text",
    ["2005 08 23 - 9829", "050823 - 98 29", "20050823.9829", "2005/08/23-9829", "２００５0823-9829"],
)
def test_the_testers_numbers_are_found(text):
    assert holds_identifier(text, today=TODAY)


NAMES = name_words("Viktoria", "Sandberg") | name_words("Annika", None) | name_words("Hu")


@pytest.mark.parametrize(
    "text",
    [
        "Sandbergs hem, Storgatan 1",
        "Vi-ktoria",
        "Hos Annika (mamma)",
        "VIKTORIA",
        "Sand.bergs",
        "Vik\u200btoria",
    ],
)
def test_a_name_written_around_the_rule_is_found(text):
    assert names_in(text, NAMES)


@pytest.mark.parametrize("text", ["Bergsgatan 4", "Hus 3", "Sandbergsvägen", "Rum A-B", "Annikagården"])
def test_a_name_inside_another_word_or_a_short_name_s_genitive_passes(text):
    assert not names_in(text, NAMES)


def test_the_purpose_rule_refuses_a_number_and_a_name_at_the_purpose_field():
    for purpose, names in [
        ("Begäran från Mikael Johansson 19820409-9819 om utdrag", frozenset()),
        ("Begäran via Viktoria Sandberg, psykos", NAMES),
    ]:
        with pytest.raises(InvalidInput) as refused:
            refuse_identifying_purpose(purpose, names=names, today=TODAY)
        assert refused.value.field == "purpose" and refused.value.message is PURPOSE_IDENTIFIES
    refuse_identifying_purpose("Personens begäran den 2 november 2026", names=NAMES, today=TODAY)
