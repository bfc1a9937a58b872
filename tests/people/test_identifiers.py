"""Tests for Swedish person identifier parsing."""

from __future__ import annotations

import pickle
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sipflow.people.identifiers import (
    MAX_AGE,
    IdentifierError,
    PersonIdentifier,
    luhn_check_digit,
    parse_identifier,
)

TODAY = date(2026, 6, 15)
HUNDRED_YEARS_AGO = TODAY.replace(year=TODAY.year - 100)
# The earliest birth date taken: MAX_AGE years old, a year older tomorrow.
OLDEST = TODAY.replace(year=TODAY.year - MAX_AGE - 1) + timedelta(days=1)


def build(birth: date, serial: int, *, coordination: bool = False) -> str:
    """Build a valid 12-digit identifier (YYYYMMDDNNNC) for the tests."""
    day = birth.day + (60 if coordination else 0)
    nine = f"{birth.year % 100:02d}{birth.month:02d}{day:02d}{serial:03d}"
    return f"{birth.year:04d}{nine[2:]}{luhn_check_digit(nine)}"


def formats(twelve: str, birth: date) -> list[str]:
    """Return every accepted spelling of a 12-digit identifier, as of TODAY."""
    ten = twelve[2:]
    spellings = [twelve, f"{twelve[:8]}-{twelve[8:]}", f"  {twelve[:8]}-{twelve[8:]}\n"]
    if birth <= HUNDRED_YEARS_AGO:
        spellings.append(f"{ten[:6]}+{ten[6:]}")
    else:
        spellings += [f"{ten[:6]}-{ten[6:]}", ten, f"\t{ten} "]
    return spellings


def with_digit(text: str, index: int, digit: int) -> str:
    return text[:index] + str(digit) + text[index + 1 :]


# --- Luhn --------------------------------------------------------------------


def test_luhn_known_values():
    assert luhn_check_digit("121212121") == 2
    assert luhn_check_digit("811218987") == 6


@pytest.mark.parametrize("bad", ["12345678", "1234567890", "12345678a", "１２３４５６７８９"])
def test_luhn_rejects_non_nine_ascii_digits(bad):
    with pytest.raises(ValueError):
        luhn_check_digit(bad)


# --- Valid personnummer ------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["19121212-1212", "191212121212", " 19121212-1212 ", "121212+1212"],
)
def test_skatteverket_example(text):
    pid = parse_identifier(text, today=TODAY)
    assert pid == PersonIdentifier(
        kind="personnummer",
        value="191212121212",
        birth_date=date(1912, 12, 12),
        legal_sex="male",
    )
    assert pid.display() == "19121212-1212"


@pytest.mark.parametrize("text", ["811218-9876", "8112189876", "198112189876", "19811218-9876"])
def test_literal_example_all_formats(text):
    pid = parse_identifier(text, today=TODAY)
    assert pid.kind == "personnummer"
    assert pid.value == "198112189876"
    assert pid.birth_date == date(1981, 12, 18)
    assert pid.legal_sex == "male"


@pytest.mark.parametrize("birth", [date(2001, 3, 4), date(1955, 11, 30), date(2024, 2, 29)])
@pytest.mark.parametrize("serial", [0, 123, 998])
def test_generated_numbers_in_all_formats(birth, serial):
    twelve = build(birth, serial)
    for text in formats(twelve, birth):
        pid = parse_identifier(text, today=TODAY)
        assert pid.value == twelve
        assert pid.birth_date == birth


def test_two_digit_year_uses_most_recent_century():
    assert parse_identifier("121212-1212", today=TODAY).birth_date == date(2012, 12, 12)
    # Later in the year than TODAY, so 2026 would be in the future: 1926.
    text = build(date(1926, 12, 1), 123)[2:]
    assert parse_identifier(text, today=TODAY).birth_date == date(1926, 12, 1)
    # Born exactly on TODAY's date counts as this century, not the previous one.
    text = build(TODAY, 123)[2:]
    assert parse_identifier(text, today=TODAY).birth_date == TODAY


def test_plus_means_hundred_years_or_older():
    assert parse_identifier("121212+1212", today=TODAY).birth_date == date(1912, 12, 12)
    twelve = build(date(1996, 12, 1), 123)
    assert parse_identifier(f"{twelve[2:8]}+{twelve[8:]}", today=TODAY).birth_date == date(1896, 12, 1)


def test_a_birth_date_older_than_the_oldest_age_is_refused():
    # The tester's 18500101-1237: 176 years old, a typo in the year.
    with pytest.raises(IdentifierError) as exc:
        parse_identifier("18500101-1237", today=TODAY)
    assert exc.value.code == "age" and "130 år" in str(exc.value)
    # A '+' taking the number back two centuries (1826) is refused so too.
    twelve = build(date(1926, 12, 1), 123)
    with pytest.raises(IdentifierError) as exc:
        parse_identifier(f"{twelve[2:8]}+{twelve[8:]}", today=TODAY)
    assert exc.value.code == "age"
    # 130 years old (131 tomorrow) is taken; 131 today is not.
    assert parse_identifier(build(OLDEST, 1), today=TODAY).birth_date == OLDEST
    with pytest.raises(IdentifierError) as exc:
        parse_identifier(build(OLDEST - timedelta(days=1), 1), today=TODAY)
    assert exc.value.code == "age"


def test_plus_with_four_digit_year_is_refused():
    with pytest.raises(IdentifierError) as exc:
        parse_identifier("19121212+1212", today=TODAY)
    assert exc.value.code == "format"


@pytest.mark.parametrize(("serial", "sex"), [(121, "male"), (123, "male"), (120, "female"), (128, "female")])
def test_legal_sex_from_second_to_last_digit(serial, sex):
    pid = parse_identifier(build(date(1980, 1, 1), serial), today=TODAY)
    assert pid.legal_sex == sex


# --- Samordningsnummer -------------------------------------------------------


def test_samordningsnummer():
    twelve = build(date(1990, 1, 5), 239, coordination=True)
    assert twelve[6:8] == "65"
    pid = parse_identifier(f"{twelve[2:8]}-{twelve[8:]}", today=TODAY)
    assert pid.kind == "samordningsnummer"
    assert pid.birth_date == date(1990, 1, 5)
    assert pid.value == twelve
    assert pid.masked() == "19900165-****"
    assert pid.legal_sex == "male"


@pytest.mark.parametrize("stored_day", ["60", "92", "99"])
def test_coordination_day_out_of_range(stored_day):
    nine = f"9001{stored_day}123"
    with pytest.raises(IdentifierError) as exc:
        parse_identifier(f"{nine}{luhn_check_digit(nine)}", today=TODAY)
    assert exc.value.code == "date"


def test_kind_mismatch():
    coordination = build(date(1990, 1, 5), 239, coordination=True)
    with pytest.raises(IdentifierError) as exc:
        parse_identifier(coordination, today=TODAY, kind="personnummer")
    assert exc.value.code == "kind"
    assert "samordningsnummer" in str(exc.value)

    with pytest.raises(IdentifierError) as exc:
        parse_identifier("19121212-1212", today=TODAY, kind="samordningsnummer")
    assert exc.value.code == "kind"

    assert parse_identifier(coordination, today=TODAY, kind="samordningsnummer")
    assert parse_identifier("19121212-1212", today=TODAY, kind="personnummer")


def test_unknown_kind_is_a_programming_error():
    with pytest.raises(ValueError) as exc:
        parse_identifier("19121212-1212", today=TODAY, kind="passport")
    assert not isinstance(exc.value, IdentifierError)


# --- Refusals ----------------------------------------------------------------


def test_wrong_check_digit():
    with pytest.raises(IdentifierError) as exc:
        parse_identifier("19121212-1213", today=TODAY)
    assert exc.value.code == "checksum"
    assert str(exc.value) == "Kontrollsiffran stämmer inte."


@pytest.mark.parametrize("yymmdd", ["900230", "901301", "900001", "900100", "010229"])
def test_invalid_date(yymmdd):
    # Correct check digit, so only the date can be at fault.
    nine = f"{yymmdd}123"
    with pytest.raises(IdentifierError) as exc:
        parse_identifier(f"{nine}{luhn_check_digit(nine)}", today=TODAY)
    assert exc.value.code == "date"
    assert "datum" in str(exc.value)


def test_leap_day_depends_on_century():
    nine = "000229123"
    text = f"{nine}{luhn_check_digit(nine)}"
    assert parse_identifier(text, today=TODAY).birth_date == date(2000, 2, 29)
    with pytest.raises(IdentifierError) as exc:  # 1900 was not a leap year
        parse_identifier(f"{text[:6]}+{text[6:]}", today=TODAY)
    assert exc.value.code == "date"


def test_future_birth_date():
    tomorrow = TODAY + timedelta(days=1)
    with pytest.raises(IdentifierError) as exc:
        parse_identifier(build(tomorrow, 123), today=TODAY)
    assert exc.value.code == "future"
    assert parse_identifier(build(TODAY, 123), today=TODAY).birth_date == TODAY


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "1212121212121",
        "121212-121",
        "121212 1212",
        "121212--1212",
        "1912121-21212",
        "abcdef-ghij",
        "١٢١٢١٢-١٢١٢",  # Arabic-Indic digits must not be treated as 0-9
        "121212-1212\n1",
    ],
)
def test_bad_format(text):
    with pytest.raises(IdentifierError) as exc:
        parse_identifier(text, today=TODAY)
    assert exc.value.code == "format"
    assert str(exc.value).startswith("Fel format")


def test_error_is_a_value_error_and_pickles():
    error = IdentifierError("Kontrollsiffran stämmer inte.", "checksum")
    assert isinstance(error, ValueError)
    copy = pickle.loads(pickle.dumps(error))
    assert (str(copy), copy.code) == (str(error), error.code)


# --- Masking -----------------------------------------------------------------


def test_masked_and_repr_hide_the_last_four_digits():
    pid = parse_identifier("811218-9876", today=TODAY)
    assert pid.masked() == "19811218-****"
    assert "9876" not in pid.masked()
    assert "9876" not in repr(pid)
    assert "9876" not in str(pid)


# --- Reservnummer ------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("ab12-cd34", "AB12CD34"),
        (" 99-123456 ", "99123456"),
        ("Åsa1", "ÅSA1"),
        ("x" * 20, "X" * 20),
    ],
)
def test_reservnummer(text, value):
    pid = parse_identifier(text, today=TODAY, kind="reservnummer")
    assert pid.kind == "reservnummer"
    assert pid.value == value
    assert pid.birth_date is None
    assert pid.legal_sex == "unknown"
    assert pid.display() == value


def test_reservnummer_masking():
    assert parse_identifier("ab12cd34ef", today=TODAY, kind="reservnummer").masked() == "AB12****"
    # Short reservnummer: show fewer leading characters so the tail stays hidden.
    assert parse_identifier("abcdef", today=TODAY, kind="reservnummer").masked() == "AB****"
    assert parse_identifier("abcd", today=TODAY, kind="reservnummer").masked() == "****"


@pytest.mark.parametrize("text", ["abc", "x" * 21, "ab 12", "ab_12", "straße", "----", ""])
def test_reservnummer_refused(text):
    with pytest.raises(IdentifierError) as exc:
        parse_identifier(text, today=TODAY, kind="reservnummer")
    assert exc.value.code == "format"


def test_reservnummer_not_accepted_without_kind():
    with pytest.raises(IdentifierError):
        parse_identifier("AB12CD34", today=TODAY)


# --- Properties --------------------------------------------------------------

# '+' covers people aged 100-199, but nobody older than MAX_AGE is taken: that is how far back the round trip
# works.
birth_dates = st.dates(min_value=OLDEST, max_value=TODAY)
serials = st.integers(min_value=0, max_value=999)


@given(birth=birth_dates, serial=serials, coordination=st.booleans())
def test_round_trip_in_every_format(birth, serial, coordination):
    twelve = build(birth, serial, coordination=coordination)
    expected_sex = "male" if serial % 2 else "female"
    expected_kind = "samordningsnummer" if coordination else "personnummer"
    for text in formats(twelve, birth):
        pid = parse_identifier(text, today=TODAY)
        assert pid.birth_date == birth
        assert pid.legal_sex == expected_sex
        assert pid.kind == expected_kind
        assert pid.value == twelve
        assert pid.masked() == f"{pid.value[:8]}-****"


@given(birth=birth_dates, serial=serials, coordination=st.booleans(), data=st.data())
def test_any_wrong_check_digit_is_refused(birth, serial, coordination, data):
    twelve = build(birth, serial, coordination=coordination)
    correct = int(twelve[-1])
    wrong = data.draw(st.integers(0, 9).filter(lambda digit: digit != correct))
    for text in formats(with_digit(twelve, 11, wrong), birth):
        with pytest.raises(IdentifierError) as exc:
            parse_identifier(text, today=TODAY)
        assert exc.value.code == "checksum"


@given(
    birth=st.dates(min_value=date(1000, 1, 1), max_value=OLDEST - timedelta(days=1)),
    serial=serials,
    coordination=st.booleans(),
)
def test_a_birth_date_over_the_oldest_age_is_refused_in_every_format(birth, serial, coordination):
    twelve = build(birth, serial, coordination=coordination)
    spellings = [twelve, f"{twelve[:8]}-{twelve[8:]}"]
    if birth.year > TODAY.year - 200:
        spellings.append(f"{twelve[2:8]}+{twelve[8:]}")  # a '+' reads it as 100-199 years back
    for text in spellings:
        with pytest.raises(IdentifierError) as exc:
            parse_identifier(text, today=TODAY)
        assert exc.value.code == "age"
        assert str(exc.value) == f"Födelsedatumet ger en ålder över {MAX_AGE} år."


@given(
    text=st.one_of(
        st.text(),
        st.text(alphabet="0123456789+- \n"),
        st.from_regex(r"[0-9]{6,8}[-+]?[0-9]{4}", fullmatch=True),
    ),
    kind=st.sampled_from([None, "personnummer", "samordningsnummer", "reservnummer"]),
)
def test_arbitrary_text_only_raises_identifier_error(text, kind):
    try:
        result = parse_identifier(text, today=TODAY, kind=kind)
    except IdentifierError as error:
        assert error.code in {"format", "date", "checksum", "future", "kind", "age"}
        assert str(error)
    else:
        assert isinstance(result, PersonIdentifier)


# --- A reservnummer is never a personnummer or samordningsnummer spelt as one ---------------------------


@given(
    birth=st.dates(min_value=OLDEST, max_value=TODAY),
    serial=serials,
    coordination=st.booleans(),
    dashed=st.booleans(),
)
def test_a_number_typed_as_a_reservnummer_is_refused_as_the_kind_it_is(birth, serial, coordination, dashed):
    # Persons are looked up by the value alone: read as a reservnummer it would be the number's holder.
    twelve = build(birth, serial, coordination=coordination)
    kind = "samordningsnummer" if coordination else "personnummer"
    spellings = [twelve, f"{twelve[:8]}-{twelve[8:]}", f"{twelve[:4]}-{twelve[4:8]}-{twelve[8:]}"]
    if birth > HUNDRED_YEARS_AGO:
        spellings += [twelve[2:], f"{twelve[2:8]}-{twelve[8:]}"]
    for text in spellings:
        with pytest.raises(IdentifierError) as exc:
            parse_identifier(text, today=TODAY, kind="reservnummer")
        assert exc.value.code == "kind" and exc.value.found == kind
        assert str(exc.value) == f"Numret är ett {kind}, inte ett reservnummer."


@given(
    birth=st.dates(min_value=date(1000, 1, 1), max_value=date(2999, 12, 31)).filter(
        lambda birth: not OLDEST <= birth <= TODAY
    ),
    serial=serials,
)
def test_a_number_not_taken_today_is_no_reservnummer_either(birth, serial):
    # Over MAX_AGE or in the future today, it may be a registered person's number (they grow older) or
    # become one: the lookup of either kind must never meet the other.
    with pytest.raises(IdentifierError) as exc:
        parse_identifier(build(birth, serial), today=TODAY, kind="reservnummer")
    assert exc.value.code == "kind"


@given(text=st.from_regex(r"[0-9A-Z-]{4,20}", fullmatch=True))
def test_no_reservnummer_holds_the_value_of_a_number(text):
    try:
        reserv = parse_identifier(text, today=TODAY, kind="reservnummer")
    except IdentifierError:
        return
    try:
        number = parse_identifier(reserv.value, today=TODAY)
    except IdentifierError:
        return
    assert number.value != reserv.value


def test_a_kind_error_survives_pickling():
    with pytest.raises(IdentifierError) as exc:
        parse_identifier(build(date(1990, 3, 15), 123), today=TODAY, kind="reservnummer")
    copy = pickle.loads(pickle.dumps(exc.value))
    assert (copy.code, copy.found) == ("kind", "personnummer")
