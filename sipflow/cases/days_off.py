"""A date on a day off: warned about and taken only once the user confirms that day.

What a day off is (a weekend day or a Swedish holiday) is clock.day_off's one rule. A meeting's day and a
plan's follow-up day are never refused outright (some SIP meetings are held then), but a user who picks one
is told which day it is and confirms it first: each date words its own warning (DayOffWording).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from flask_babel import get_locale

from sipflow.clock import day_off
from sipflow.errors import InvalidInput


class HolidayName:
    """A holiday's name in the language of the page that shows it (read then, as lazy_gettext's text is)."""

    def __init__(self, day: date):
        self.day = day

    def __str__(self) -> str:
        locale = get_locale()
        language = locale.language if locale is not None else "sv"
        name = day_off(self.day, language=language).holiday
        # Swedish writes a holiday's name in lower case inside a sentence ("på juldagen"), Kristi excepted.
        if language == "sv" and not name.startswith("Kristi"):
            return name[:1].lower() + name[1:]
        return name


@dataclass(frozen=True)
class DayOffWording:
    """How one kind of date words the warning: public and other holidays are given the holiday's name."""

    public_holiday: Callable[[HolidayName], object]
    holiday: Callable[[HolidayName], object]
    saturday: object
    sunday: object


class DayOffUnconfirmed(InvalidInput):
    """The date falls on a weekend day or a holiday, and the user has not confirmed that day."""

    code = "day_off"

    def __init__(self, message, day: date, *, field: str):
        super().__init__(message, field=field)
        self.day = day


def day_off_warning(day: date, wording: DayOffWording):
    """The warning that day is no working day, naming it (its holiday, else the weekday), or None."""
    off = day_off(day)
    if off is None:
        return None
    if off.holiday is not None:
        name = HolidayName(day)
        return wording.public_holiday(name) if off.public else wording.holiday(name)
    return wording.saturday if off.weekday == 5 else wording.sunday


def refuse_unconfirmed_day_off(
    day: date, confirmed_day: date | None, *, field: str, wording: DayOffWording
) -> None:
    """Refuse day at field when it is no working day, unless confirmed_day is that very day."""
    warning = day_off_warning(day, wording)
    if warning is not None and confirmed_day != day:
        raise DayOffUnconfirmed(warning, day, field=field)
