"""`scheduler --once --now TIME`: TIME is parsed strictly; anything else is a usage error, never a crash."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import click
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sipflow.clock import date_window
from sipflow.scheduler import parse_now


def test_an_instant_with_z_or_an_offset_is_read_as_utc():
    assert parse_now("2027-01-15T08:00:00Z") == datetime(2027, 1, 15, 8, 0, tzinfo=UTC)
    assert parse_now("2027-07-15T10:00:00+02:00") == datetime(2027, 7, 15, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "text", ["2027-01-15T08:00:00", "tomorrow", "", "2027-13-01T00:00:00Z", "0001-01-01T00:00:00+01:00"]
)
def test_a_time_without_zone_or_no_time_at_all_is_refused(text):
    with pytest.raises(click.BadParameter):
        parse_now(text)


@pytest.mark.parametrize("text", ["0001-01-01T00:00:00Z", "1899-12-31T12:00:00Z", "9999-12-31T23:59:59Z"])
def test_a_time_outside_the_dates_the_application_takes_is_refused(text):
    """The jobs count years and days from it: year 1 overflowed, year 9999 anonymised every case."""
    first, last = date_window()
    with pytest.raises(click.BadParameter, match=f"between {first.isoformat()} and {last.isoformat()}"):
        parse_now(text)


def test_the_last_day_the_application_takes_is_accepted():
    last = date_window()[1]
    assert parse_now(f"{last.isoformat()}T12:00:00+01:00").date() == last


@given(st.text(max_size=40))
def test_any_text_is_an_instant_in_utc_or_a_usage_error(text):
    try:
        at = parse_now(text)
    except click.BadParameter:
        return
    assert at.tzinfo is UTC


@given(
    st.datetimes(
        min_value=datetime(1900, 1, 2),
        max_value=datetime(2100, 12, 31),
        timezones=st.just(timezone(timedelta(hours=2))),
    )
)
def test_every_aware_instant_in_the_window_written_out_is_read_back(moment):
    assert parse_now(moment.isoformat()) == moment.astimezone(UTC)
