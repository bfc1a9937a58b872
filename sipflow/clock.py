"""Time helpers: store UTC, reason about deadlines in Swedish local time.

Deadlines in SIP work ("within 3 working days") are agreed in local wall-clock
terms, so day arithmetic happens in Europe/Stockholm and the result is
converted back to aware UTC for storage.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

STOCKHOLM = ZoneInfo("Europe/Stockholm")

# Days that count as non-working besides Saturdays and Sundays:
# - PUBLIC: the statutory Swedish public holidays (helgdagar).
# - DE_FACTO: julafton, midsommarafton and nyårsafton. They are not statutory
#   holidays, but Swedish banks, most employers and municipal offices treat
#   them as non-working days, so a deadline must not land on them.
# The BANK category is deliberately left out: it adds half days ("from 2pm")
# such as skärtorsdagen, which are working days for our purposes.
_HOLIDAY_CATEGORIES = (holidays.PUBLIC, holidays.DE_FACTO)

# The dates any form accepts: a SIP concerns people alive now and plans a few years ahead at most. The
# window keeps absurd values (year 1, year 9999) out, which would otherwise overflow when converted
# between time zones or when a meeting's end is computed, and would break every page that shows them.
EARLIEST_DATE = date(1900, 1, 1)
YEARS_AHEAD = 100
# How far ahead a meeting may be booked (meetings.booking.read_times): a SIP meets within weeks and follows
# up within months, so a date further on is a typo in the year, which the invitees' calendars would keep.
BOOKING_YEARS_AHEAD = 2


# Set by tests only (see freeze()): then every now_utc(), in views, services and jobs alike, reads it.
_frozen_at: datetime | None = None


def now_utc() -> datetime:
    """Return the current time as an aware UTC datetime (the frozen instant while the clock is frozen)."""
    frozen = _frozen_at
    if frozen is not None:
        return frozen
    return datetime.now(UTC)


class FrozenClock:
    """Handle on a frozen clock: read it with now_utc(), move it with set() or advance()."""

    def set(self, at: datetime) -> datetime:
        """Stop the clock at the aware instant at (kept in UTC); return it."""
        global _frozen_at
        if at.tzinfo is None or at.utcoffset() is None:
            raise ValueError("the clock can only be frozen at an aware datetime")
        _frozen_at = at.astimezone(UTC)
        return _frozen_at

    def advance(self, delta: timedelta) -> datetime:
        """Move the frozen clock by delta; return the new instant."""
        return self.set(now_utc() + delta)


@contextmanager
def frozen(at: datetime) -> Iterator[FrozenClock]:
    """Freeze now_utc() at at for the whole process (every thread) inside the block; for tests."""
    global _frozen_at
    previous = _frozen_at
    clock = FrozenClock()
    clock.set(at)
    try:
        yield clock
    finally:
        _frozen_at = previous


def to_local(dt: datetime) -> datetime:
    """Convert an aware datetime to Europe/Stockholm; naive input is refused."""
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError("to_local() needs an aware datetime, got a naive one")
    return dt.astimezone(STOCKHOLM)


def local_today(now: datetime | None = None) -> date:
    """The Swedish date at now (default: now_utc()): the date a page, an extract or a file name says, never
    UTC's (at 00:15 Swedish time UTC's is still yesterday)."""
    return to_local(now_utc() if now is None else now).date()


def parse_instant(value: str) -> datetime:
    """An ISO 8601 time with its UTC offset as aware UTC; ValueError for one without (or none at all)."""
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise ValueError("an instant needs its UTC offset")
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00+01:00 lies before the first representable instant
        raise ValueError("the instant lies outside the representable range") from None


def stored_utc(moment: datetime) -> datetime:
    """A moment read back from the database, aware: everything is stored in UTC, and SQLite hands it back
    without its offset."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def swedish_day_of_stored(stored: str | None) -> str | None:
    """The Swedish calendar day (YYYY-MM-DD) of an instant SQLite stores as UTC text (SQL: swedish_day)."""
    if stored is None:
        return None
    return stored_utc(datetime.fromisoformat(stored)).astimezone(STOCKHOLM).date().isoformat()


def years_after(day: date, years: int) -> date:
    """The same date years on; 29 February becomes the 28th in a year that is no leap year."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def date_window(now: datetime | None = None) -> tuple[date, date]:
    """The first and last date a form accepts: EARLIEST_DATE to YEARS_AHEAD years after today (local)."""
    return EARLIEST_DATE, years_after(to_local(now or now_utc()).date(), YEARS_AHEAD)


def last_booking_day(now: datetime) -> date:
    """The last (local) day a meeting booked now may be on: BOOKING_YEARS_AHEAD years after today."""
    return years_after(to_local(now).date(), BOOKING_YEARS_AHEAD)


def within_date_window(value: date | datetime, *, now: datetime | None = None) -> bool:
    """True when value (a date, a naive local or an aware datetime) falls in date_window()."""
    first, last = date_window(now)
    try:
        if isinstance(value, datetime):
            day = to_local(value).date() if value.tzinfo is not None else value.date()
        else:
            day = value
    except OverflowError:  # so far out that it cannot even be placed in Swedish time
        return False
    return first <= day <= last


def local_to_utc(naive_local: datetime) -> datetime:
    """Interpret a naive Europe/Stockholm wall-clock time and return aware UTC.

    Always uses fold=0 semantics: a non-existent time in the spring-forward gap
    (02:00-03:00 on the last Sunday of March) is read with the pre-transition
    offset (+01:00), so 02:30 becomes 01:30 UTC (03:30 CEST); an ambiguous time
    in the repeated autumn hour is read as its first occurrence (CEST, +02:00).
    """
    if naive_local.tzinfo is not None:
        raise ValueError("local_to_utc() needs a naive wall-clock datetime")
    return naive_local.replace(tzinfo=STOCKHOLM, fold=0).astimezone(UTC)


def end_of_local_day(day: date) -> datetime:
    """The last second of day in Sweden (23:59:59 local), as aware UTC: a deadline counted in whole days."""
    return local_to_utc(datetime.combine(day, time(23, 59, 59)))


def ends_its_day(moment: datetime) -> bool:
    """Whether moment is in the last minute of its day in Sweden: a deadline counted in whole days
    (end_of_local_day; follow-ups stored before that rule fall due at 23:59:00), shown as its date alone."""
    local = to_local(moment)
    return (local.hour, local.minute) == (23, 59)


def wall_time_exists(naive_local: datetime) -> bool:
    """False for a wall-clock time skipped when summer time starts (02:00-03:00 on that Sunday)."""
    return to_local(local_to_utc(naive_local)).replace(tzinfo=None) == naive_local


def summer_time_in_repeated_hour(moment: datetime) -> bool | None:
    """For an aware moment in the hour the clocks show twice when summer time ends (02:00-03:00 on that
    Sunday), whether it is the first showing (summer time, +02:00) or the second (standard time, +01:00);
    None for every other moment, whose Swedish wall-clock time names it alone."""
    local = to_local(moment)
    if local.replace(fold=1 - local.fold).utcoffset() == local.utcoffset():
        return None
    return local.fold == 0


def wall_time_repeated(naive_local: datetime) -> bool:
    """True for a wall-clock time that occurs twice: 02:00-03:00 on the Sunday summer time ends, when the
    clocks go back from 03:00 to 02:00. Such a time names two moments an hour apart; local_to_utc reads
    the first, so a meeting from 02:30 to 03:30 would last two hours."""
    if naive_local.tzinfo is not None:
        raise ValueError("wall_time_repeated() needs a naive wall-clock datetime")
    first = naive_local.replace(tzinfo=STOCKHOLM, fold=0)
    second = naive_local.replace(tzinfo=STOCKHOLM, fold=1)
    # In the spring gap the two readings differ too (PEP 495); only a time that exists is repeated.
    return first.utcoffset() != second.utcoffset() and wall_time_exists(naive_local)


@lru_cache(maxsize=256)
def _holiday_dates(year: int) -> frozenset[date]:
    # Bounded cache because years come from user-entered dates. A frozenset per
    # year instead of one shared HolidayBase, because HolidayBase populates
    # itself lazily on lookup, which is not safe across threads.
    # include_sundays=False is explicit because the Swedish calendar can mark
    # every Sunday as a holiday; weekends are handled separately anyway.
    calendar = holidays.country_holidays(
        "SE", years=year, categories=_HOLIDAY_CATEGORIES, include_sundays=False
    )
    return frozenset(calendar.keys())


def is_working_day(d: date) -> bool:
    """Return True unless d is a weekend, a Swedish public holiday or a holiday eve."""
    if isinstance(d, datetime):
        # A datetime's calendar date depends on its zone; make the caller pick.
        raise TypeError("is_working_day() expects a date, not a datetime")
    if d.weekday() >= 5:
        return False
    return d not in _holiday_dates(d.year)


def first_working_day(d: date) -> date:
    """d if it is a working day (is_working_day), else the first working day after it."""
    while not is_working_day(d):
        d += timedelta(days=1)
    return d


def last_working_day(d: date) -> date:
    """d if it is a working day (is_working_day), else the last working day before it."""
    while not is_working_day(d):
        d -= timedelta(days=1)
    return d


# The languages the holidays library names Swedish holidays in, by the UI's language.
_HOLIDAY_LANGUAGES = {"sv": "sv", "en": "en_US"}


@dataclass(frozen=True)
class DayOff:
    """Why a date is no working day: a holiday (its name; public: a statutory helgdag) or else the weekend."""

    weekday: int  # 5 Saturday, 6 Sunday
    holiday: str | None = None
    public: bool = False


@lru_cache(maxsize=256)
def _holiday_names(year: int, language: str) -> dict[date, tuple[str, bool]]:
    # Each holiday's name and whether it is a public holiday (a holiday eve is not), per year and language.
    names: dict[date, tuple[str, bool]] = {}
    for category, public in ((holidays.DE_FACTO, False), (holidays.PUBLIC, True)):
        calendar = holidays.country_holidays(
            "SE", years=year, categories=(category,), include_sundays=False, language=language
        )
        names.update({day: (name, public) for day, name in calendar.items()})
    return names


def day_off(d: date, *, language: str = "sv") -> DayOff | None:
    """Why d is no working day (is_working_day's rule), its holiday named in language (sv, en), or None."""
    if is_working_day(d):
        return None
    holiday = _holiday_names(d.year, _HOLIDAY_LANGUAGES.get(language, "sv")).get(d)
    if holiday is None:
        return DayOff(d.weekday())
    return DayOff(d.weekday(), holiday[0], holiday[1])


def add_days(start: datetime, days: int, *, working_days: bool = False) -> datetime:
    """Add calendar or working days in Stockholm local time; return aware UTC.

    The local wall-clock time is kept across DST changes. If it does not exist
    on the target day (spring-forward gap) it is resolved as in local_to_utc().
    With working_days=True, only weekdays that are not holidays are counted;
    a negative count steps backwards the same way.
    """
    local = to_local(start)
    if days == 0:
        # Re-building the wall time would turn the second occurrence of an
        # ambiguous autumn hour into the first one; keep the instant instead.
        return start.astimezone(UTC)

    target = local.date()
    if working_days:
        step = timedelta(days=1 if days > 0 else -1)
        remaining = abs(days)
        while remaining:
            target += step
            if is_working_day(target):
                remaining -= 1
    else:
        target += timedelta(days=days)

    wall = datetime.combine(target, local.time().replace(fold=0))
    return local_to_utc(wall)
