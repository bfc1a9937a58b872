"""Typed values read out of a form's data dict; a wrong one is refused with InvalidInput naming the field.

The service layer reads its input through these (transition forms in cases/inputs.py, bookings in
meetings/booking.py), so a bad value is refused the same way whoever sends it.
"""

from __future__ import annotations

import unicodedata
from datetime import date, datetime

from sipflow.clock import date_window, within_date_window
from sipflow.errors import InvalidInput
from sipflow.lengths import fits, too_long
from sipflow.security import NUL_MESSAGE
from sipflow.security.password_policy import has_control_characters
from sipflow.translated import lazy_gettext as _l


def window_message():
    """The refusal of a date outside clock.date_window(), naming the window."""
    first, last = date_window()
    return _l("Enter a date between %(first)s and %(last)s.", first=first.isoformat(), last=last.isoformat())


def check_window(value: date | datetime | None, name: str) -> None:
    """Refuse a date or date-time outside clock.date_window(), naming the field."""
    if value is not None and not within_date_window(value):
        raise InvalidInput(window_message(), field=name)


# Unicode's Bidi_Control characters: invisible, they reorder the text around them, so a name holding one
# (a right-to-left override) reads differently from what it is in lists, selects and an e-mail's From.
BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")

# The invisible format characters (category Cf) a name needs: the zero-width non-joiner and joiner shape
# Persian, Arabic and Indic script and join emoji sequences. Every other one (a zero-width space, a byte
# order mark, a soft hyphen, a tag character) is invisible and makes one name two different strings.
SCRIPT_FORMAT_CHARACTERS = frozenset("\u200c\u200d")


def normalised(value: str) -> str:
    """value in Unicode NFC: "Å" typed as one character or as "A" and a combining ring is the same text, so
    names compare, sort and search alike whichever keyboard or system typed them."""
    return unicodedata.normalize("NFC", value)


# The control characters a text of several lines keeps: its line breaks (a browser sends a text area's as
# CR LF) and tabs.
LINE_BREAKS_AND_TABS = frozenset("\r\n\t")


def one_line(value: str, name: str) -> str:
    """value (normalised), refused at the field name when it holds a line break, a tab, another control
    character, an invisible direction character or another invisible format character but the joiners
    (SCRIPT_FORMAT_CHARACTERS): the rule of every name that ends up in a header, a list or a select (an
    e-mail's From), whether typed in a form or read from an import."""
    if has_control_characters(value):
        raise InvalidInput(
            _l("Write this on one line, without tabs or other control characters."), field=name
        )
    _refuse_invisible(value, name)
    return normalised(value)


def several_lines(value: str, name: str) -> str:
    """value (normalised), refused at the field name as one_line refuses it, but for its line breaks and
    tabs: the rule of a text written at length (a plan's needs, a reason), shown on pages and printed in a
    PDF, where a control character (a bell, an escape) garbles it and an invisible one hides or reorders
    the text around it."""
    control = next(
        (c for c in value if c not in LINE_BREAKS_AND_TABS and has_control_characters(c)),
        None,
    )
    if control is not None:
        raise InvalidInput(
            _l(
                "The text holds a control character (%(code)s): remove it. Line breaks and tabs may stay.",
                code=f"U+{ord(control):04X}",
            ),
            field=name,
        )
    _refuse_invisible(value, name)
    return normalised(value)


def _refuse_invisible(value: str, name: str) -> None:
    """Refuse value at the field name when it holds an invisible direction character or another invisible
    format character but the joiners (SCRIPT_FORMAT_CHARACTERS)."""
    hidden = next((character for character in value if character in BIDI_CONTROLS), None)
    if hidden is not None:
        raise InvalidInput(
            _l(
                "The text holds an invisible character that changes the writing direction (%(code)s):"
                " remove it.",
                code=f"U+{ord(hidden):04X}",
            ),
            field=name,
        )
    invisible = next(
        (
            character
            for character in value
            if unicodedata.category(character) == "Cf" and character not in SCRIPT_FORMAT_CHARACTERS
        ),
        None,
    )
    if invisible is not None:
        raise InvalidInput(
            _l(
                "The text holds an invisible character (%(code)s): remove it.",
                code=f"U+{ord(invisible):04X}",
            ),
            field=name,
        )


def text(data: dict, name: str, *, limit: int | None = None) -> str | None:
    """The field's text as free_text gives it (no control character but line breaks and tabs)."""
    return free_text(data.get(name), name, limit=limit)


def clean_text(value, name: str, *, limit: int | None = None) -> str | None:
    """value stripped and normalised, or None when empty; anything but text, text over limit, or text with a
    NUL is refused at the field name. The base of line_text and free_text, which every service that stores
    typed text reads it through."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidInput(_l("Enter text."), field=name)
    if "\x00" in value:
        # Nobody types one, and PostgreSQL stores none; the web takes it out of a form before a view runs.
        raise InvalidInput(NUL_MESSAGE, field=name)
    value = normalised(value.strip())
    if limit is not None and not fits(value, limit):
        raise InvalidInput(too_long(limit), field=name)
    return value or None


def line(data: dict, name: str, *, limit: int | None = None) -> str | None:
    """The field's text as line_text gives it."""
    return line_text(data.get(name), name, limit=limit)


def line_text(value, name: str, *, limit: int | None = None) -> str | None:
    """clean_text's value, which must fit on one line (one_line): a place, a name, a phone number. Such a
    value is printed as one line of a mail, a page or a calendar entry, where a typed line break would let
    it add lines of its own (a false "answer here" link under the meeting's place)."""
    value = clean_text(value, name, limit=limit)
    return None if value is None else one_line(value, name)


def without_hidden_characters(value: str) -> str:
    """value without what several_lines refuses (control characters but line breaks and tabs, invisible
    format characters but the joiners): for text no person typed here, a calendar's comment, which is kept
    rather than its whole answer refused."""
    return "".join(
        c
        for c in value
        if (c in LINE_BREAKS_AND_TABS or not has_control_characters(c))
        and (unicodedata.category(c) != "Cf" or c in SCRIPT_FORMAT_CHARACTERS)
    )


def free(data: dict, name: str, *, limit: int | None = None) -> str | None:
    """The field's text as free_text gives it."""
    return free_text(data.get(name), name, limit=limit)


def free_text(value, name: str, *, limit: int | None = None) -> str | None:
    """clean_text's value, of one line or several, holding no control character but line breaks and tabs
    and no invisible one (several_lines): what is written at length, a plan's text, a reason."""
    value = clean_text(value, name, limit=limit)
    return None if value is None else several_lines(value, name)


def require_text(data: dict, name: str, message) -> str:
    """The text of a field that must not be empty; message says what is missing."""
    value = text(data, name)
    if not value:
        raise InvalidInput(message, field=name)
    return value


def choice(data: dict, name: str, allowed: tuple[str, ...]) -> str:
    """One of allowed."""
    value = data.get(name)
    if value not in allowed:
        raise InvalidInput(_l("Choose one of the options."), field=name)
    return value


def calendar_date(data: dict, name: str) -> date | None:
    """A calendar date (not a datetime), or None."""
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, date) or isinstance(value, datetime):
        raise InvalidInput(_l("Enter a date."), field=name)
    check_window(value, name)
    return value


def moment(data: dict, name: str, required_message=None) -> datetime | None:
    """A timezone-aware datetime, or None; a naive one is refused since its time zone is unknown."""
    value = data.get(name)
    if value is None:
        if required_message is not None:
            raise InvalidInput(required_message, field=name)
        return None
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise InvalidInput(_l("Enter a date and time."), field=name)
    check_window(value, name)
    return value


def before_minute_of(value: datetime, moment: datetime) -> bool:
    """Whether value lies before the minute moment falls in: a time a form gives to the minute (it has no
    seconds) in that same minute is not before moment, so a form prefilled with "now" never refuses itself.
    """
    return value < moment.replace(second=0, microsecond=0)


def ids(data: dict, name: str) -> set[int]:
    """A set of row ids chosen from a list (ints, never bools)."""
    value = data.get(name) or []
    if not isinstance(value, list | tuple | set) or not all(
        isinstance(item, int) and not isinstance(item, bool) for item in value
    ):
        raise InvalidInput(_l("Choose from the list."), field=name)
    return set(value)
