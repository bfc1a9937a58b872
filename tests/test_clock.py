"""Tests for the time helpers in sipflow.clock."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, time, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sipflow.clock import (
    STOCKHOLM,
    add_days,
    frozen,
    is_working_day,
    local_to_utc,
    now_utc,
    to_local,
    wall_time_exists,
    wall_time_repeated,
)


def local(*args: int) -> datetime:
    """Aware Stockholm datetime, for readable test inputs."""
    return datetime(*args, tzinfo=STOCKHOLM)


def test_now_utc_is_aware_utc():
    now = now_utc()
    assert now.utcoffset() == timedelta(0)
    assert abs(now - datetime.now(UTC)) < timedelta(seconds=5)


def test_a_frozen_clock_holds_in_every_thread_moves_on_request_and_thaws():
    at = datetime(2026, 11, 2, 10, 0, tzinfo=timezone(timedelta(hours=1)))
    with frozen(at) as clock:
        assert now_utc() == at and now_utc().tzinfo is UTC
        seen = []
        worker = threading.Thread(target=lambda: seen.append(now_utc()))
        worker.start()
        worker.join()
        assert seen == [at]
        assert clock.advance(timedelta(minutes=31)) == at + timedelta(minutes=31) == now_utc()
        with pytest.raises(ValueError):
            clock.set(datetime(2026, 11, 2, 10, 0))
        assert now_utc() == at + timedelta(minutes=31)
    assert abs(now_utc() - datetime.now(UTC)) < timedelta(seconds=5)


def test_to_local():
    assert to_local(datetime(2026, 7, 1, 8, tzinfo=UTC)).hour == 10
    assert to_local(datetime(2026, 1, 15, 9, tzinfo=UTC)).hour == 10
    assert to_local(datetime(2026, 1, 15, 9, tzinfo=UTC)).tzinfo is STOCKHOLM
    with pytest.raises(ValueError):
        to_local(datetime(2026, 1, 15, 9))


def test_local_to_utc_summer_and_winter():
    assert local_to_utc(datetime(2026, 7, 1, 10)) == datetime(2026, 7, 1, 8, tzinfo=UTC)
    assert local_to_utc(datetime(2026, 1, 15, 10)) == datetime(2026, 1, 15, 9, tzinfo=UTC)
    assert local_to_utc(datetime(2026, 7, 1, 10)).tzinfo is UTC


def test_local_to_utc_dst_edge_cases_use_fold_zero():
    # 02:30 does not exist on 2026-03-29; fold=0 reads it with +01:00.
    assert local_to_utc(datetime(2026, 3, 29, 2, 30)) == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    # 02:30 happens twice on 2026-10-25; fold=0 picks the first (CEST, +02:00).
    assert local_to_utc(datetime(2026, 10, 25, 2, 30)) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    assert local_to_utc(datetime(2026, 10, 25, 2, 30, fold=1)) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)


def test_the_repeated_autumn_hour_is_told_apart_from_the_skipped_spring_hour():
    # 2027-10-31: the clocks go back from 03:00 to 02:00, so 02:00-02:59 happens twice.
    assert wall_time_repeated(datetime(2027, 10, 31, 2, 30))
    assert wall_time_repeated(datetime(2027, 10, 31, 2, 0))
    assert wall_time_repeated(datetime(2027, 10, 31, 2, 59))
    for unique in (
        datetime(2027, 10, 31, 1, 59),
        datetime(2027, 10, 31, 3, 0),
        datetime(2027, 10, 30, 2, 30),
    ):
        assert not wall_time_repeated(unique)
    # 2027-03-28's 02:30 is skipped, not repeated.
    assert not wall_time_repeated(datetime(2027, 3, 28, 2, 30))
    assert not wall_time_exists(datetime(2027, 3, 28, 2, 30))
    with pytest.raises(ValueError):
        wall_time_repeated(datetime(2027, 10, 31, 2, 30, tzinfo=UTC))


def test_local_to_utc_refuses_aware():
    with pytest.raises(ValueError):
        local_to_utc(datetime(2026, 7, 1, 10, tzinfo=UTC))


# --- add_days: calendar days ---------------------------------------------------


def test_add_days_across_spring_forward_keeps_wall_time():
    start = local(2026, 3, 28, 10).astimezone(UTC)
    assert start == datetime(2026, 3, 28, 9, tzinfo=UTC)
    result = add_days(start, 1)
    assert result == datetime(2026, 3, 29, 8, tzinfo=UTC)
    assert result - start == timedelta(hours=23)
    assert to_local(add_days(start, 3)).replace(tzinfo=None) == datetime(2026, 3, 31, 10)


def test_add_days_across_autumn_back_keeps_wall_time():
    start = local(2026, 10, 24, 10).astimezone(UTC)
    assert start == datetime(2026, 10, 24, 8, tzinfo=UTC)
    result = add_days(start, 1)
    assert result == datetime(2026, 10, 25, 9, tzinfo=UTC)
    assert result - start == timedelta(hours=25)
    assert to_local(add_days(start, 3)).replace(tzinfo=None) == datetime(2026, 10, 27, 10)


def test_add_days_negative_and_other_input_zones():
    start = datetime(2026, 3, 30, 10, tzinfo=timezone(timedelta(hours=2)))  # 10:00 CEST
    assert to_local(add_days(start, -3)).replace(tzinfo=None) == datetime(2026, 3, 27, 10)


def test_add_days_into_spring_gap_resolves_like_local_to_utc():
    start = local(2026, 3, 28, 2, 30)
    assert add_days(start, 1) == local_to_utc(datetime(2026, 3, 29, 2, 30))


def test_add_zero_days_keeps_the_instant():
    second_0230 = datetime(2026, 10, 25, 1, 30, tzinfo=UTC)  # 02:30 CET, fold=1
    assert add_days(second_0230, 0) == second_0230
    assert add_days(second_0230, 0, working_days=True) == second_0230


def test_add_days_returns_aware_utc_and_refuses_naive():
    assert add_days(local(2026, 5, 4, 9), 1).tzinfo is UTC
    with pytest.raises(ValueError):
        add_days(datetime(2026, 5, 4, 9), 1)


# --- Working days ----------------------------------------------------------------


@pytest.mark.parametrize(
    "day",
    [
        date(2026, 1, 1),  # nyårsdagen
        date(2026, 1, 6),  # trettondedag jul
        date(2026, 4, 3),  # långfredagen
        date(2026, 4, 6),  # annandag påsk
        date(2026, 5, 1),  # första maj
        date(2026, 5, 14),  # Kristi himmelsfärdsdag
        date(2026, 6, 19),  # midsommarafton (de facto, Friday)
        date(2026, 6, 20),  # midsommardagen (Saturday)
        date(2026, 12, 24),  # julafton (de facto)
        date(2026, 12, 25),  # juldagen
        date(2026, 12, 31),  # nyårsafton (de facto)
        date(2027, 1, 1),  # nyårsdagen
        date(2025, 6, 6),  # nationaldagen on a Friday
        date(2026, 3, 7),  # ordinary Saturday
        date(2026, 3, 8),  # ordinary Sunday
    ],
)
def test_non_working_days(day):
    assert not is_working_day(day)


@pytest.mark.parametrize(
    "day",
    [
        date(2026, 3, 2),  # ordinary Monday
        date(2026, 4, 2),  # skärtorsdagen: half day for banks, still a working day
        date(2026, 4, 30),  # valborgsmässoafton
        date(2026, 6, 18),  # day before midsommarafton
        date(2026, 12, 23),
    ],
)
def test_working_days(day):
    assert is_working_day(day)


def test_every_sunday_is_non_working_and_ordinary_weekdays_are_working():
    day = date(2026, 1, 4)
    while day.year == 2026:
        assert not is_working_day(day)
        day += timedelta(days=7)
    # Ordinary weekdays must not be swallowed by a "Sundays are holidays" calendar.
    assert all(is_working_day(date(2026, 3, d)) for d in range(2, 7))


def test_is_working_day_refuses_datetime():
    with pytest.raises(TypeError):
        is_working_day(datetime(2026, 3, 2, 10))


def test_add_working_days_skips_weekend():
    friday = local(2026, 3, 6, 10)
    assert to_local(add_days(friday, 1, working_days=True)).date() == date(2026, 3, 9)
    saturday = local(2026, 3, 7, 10)
    assert to_local(add_days(saturday, 1, working_days=True)).date() == date(2026, 3, 9)
    assert to_local(add_days(friday, 5, working_days=True)).date() == date(2026, 3, 13)


def test_add_working_days_over_midsummer():
    result = to_local(add_days(local(2026, 6, 18, 10), 1, working_days=True))
    assert result.replace(tzinfo=None) == datetime(2026, 6, 22, 10)


def test_add_working_days_over_christmas_and_new_year():
    christmas = to_local(add_days(local(2026, 12, 23, 10), 1, working_days=True))
    assert christmas.date() == date(2026, 12, 28)
    new_year = to_local(add_days(local(2026, 12, 28, 10), 3, working_days=True))
    assert new_year.date() == date(2027, 1, 4)
    # 5 Jan, then 6 Jan is trettondedag jul, so the second working day is 7 Jan.
    assert to_local(add_days(new_year, 2, working_days=True)).date() == date(2027, 1, 7)


def test_add_working_days_backwards():
    result = to_local(add_days(local(2026, 6, 22, 10), -1, working_days=True))
    assert result.date() == date(2026, 6, 18)


def test_add_working_days_across_dst_keeps_wall_time():
    result = to_local(add_days(local(2026, 3, 27, 10), 1, working_days=True))
    assert result.replace(tzinfo=None) == datetime(2026, 3, 30, 10)


# --- Properties ------------------------------------------------------------------

# Local wall times outside 02:00-03:00 exist and are unambiguous on every day.
safe_times = st.times().filter(lambda t: not time(2) <= t < time(3))
local_dates = st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 12, 31))


@given(day=local_dates, at=safe_times, days=st.integers(-800, 800), working=st.booleans())
def test_add_days_keeps_local_wall_time(day, at, days, working):
    start = local_to_utc(datetime.combine(day, at))
    result = add_days(start, days, working_days=working)
    assert result.tzinfo is UTC
    assert to_local(result).time() == at
    if not working:
        assert to_local(result).date() == day + timedelta(days=days)
    elif days != 0:
        assert is_working_day(to_local(result).date())


@given(moment=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2090, 12, 31)))
def test_a_wall_time_is_repeated_exactly_when_two_instants_show_it(moment):
    # Every instant an hour either side of the first reading that shows the same wall time is its double.
    first = local_to_utc(moment)
    doubles = [
        other
        for other in (first - timedelta(hours=1), first + timedelta(hours=1))
        if to_local(other).replace(tzinfo=None) == moment
    ]
    assert wall_time_repeated(moment) == bool(doubles)
