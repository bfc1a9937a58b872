"""A text holding the person's own birth date as the date of a personnummer, followed by four digits with a
wrong check digit, still tells the birth date (people.identifying.holds_birth_date); a date alone, or
another day's, does not."""

from __future__ import annotations

import string
from datetime import date

from hypothesis import assume, given
from hypothesis import strategies as st

from sipflow.people.identifiers import luhn_check_digit
from sipflow.people.identifying import holds_birth_date

BIRTH = date(1966, 6, 6)
AROUND = st.text(alphabet=string.ascii_letters + " ,åäö", max_size=12)


def _written(day: date, serial: str, *, long_form: bool, separator: str, coordination: bool = False) -> str:
    day_part = f"{day.day + (60 if coordination else 0):02d}"
    yymmdd = f"{day:%y%m}{day_part}"
    return f"{day.year // 100}{yymmdd}{separator}{serial}" if long_form else f"{yymmdd}{separator}{serial}"


@given(
    day=st.dates(min_value=date(1900, 1, 1), max_value=date(2026, 11, 1)),
    serial=st.integers(min_value=0, max_value=9999),
    long_form=st.booleans(),
    coordination=st.booleans(),
    separator=st.sampled_from(["-", "", " ", " - ", "+"]),
    before=AROUND,
    after=AROUND,
)
def test_the_birth_date_with_any_four_digits_is_found(
    day, serial, long_form, coordination, separator, before, after
):
    number = _written(
        day, f"{serial:04d}", long_form=long_form, separator=separator, coordination=coordination
    )
    assert holds_birth_date(f"{before} {number} {after}", day)


@given(
    birth=st.dates(min_value=date(1900, 1, 1), max_value=date(2026, 11, 1)),
    day=st.dates(min_value=date(1900, 1, 1), max_value=date(2099, 12, 31)),
    separator=st.sampled_from(["-", "", " ", "/"]),
    after=st.sampled_from(["", " kl 10:15", " 10:15", ", rum 4", " kl. 9"]),
)
def test_a_date_alone_is_not_the_birth_date_of_a_personnummer(birth, day, separator, after):
    """The meeting's own date, even the birth date itself, with a time or a short room number after it."""
    written = separator.join((f"{day:%Y}", f"{day:%m}", f"{day:%d}"))
    assert not holds_birth_date(f"Möte {written}{after}", birth)


@given(
    birth=st.dates(min_value=date(1900, 1, 1), max_value=date(2026, 11, 1)),
    other=st.dates(min_value=date(1900, 1, 1), max_value=date(2026, 11, 1)),
    serial=st.integers(min_value=0, max_value=9999),
    long_form=st.booleans(),
)
def test_another_days_number_is_not_the_persons_birth_date(birth, other, serial, long_form):
    assume(other != birth and (long_form or f"{other:%y%m%d}" != f"{birth:%y%m%d}"))
    assert not holds_birth_date(_written(other, f"{serial:04d}", long_form=long_form, separator="-"), birth)


def test_the_reported_room_is_found_and_the_person_unknown_finds_nothing():
    serial = "101"
    wrong = (luhn_check_digit(f"660606{serial}") + 1) % 10
    assert holds_birth_date(f"19660606-{serial}{wrong}", BIRTH)
    assert holds_birth_date(f"Rum 660606 {serial}{wrong}", BIRTH)
    assert not holds_birth_date("19660606-1011", None)
    assert not holds_birth_date("2026-06-06", date(2026, 6, 6))
