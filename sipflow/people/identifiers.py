"""Swedish person identifiers: personnummer, samordningsnummer and reservnummer.

Pure module (stdlib only) so it can be used from forms, imports and tests alike.
Error messages are Swedish because they are shown to users as-is; the stable
English ``code`` on :class:`IdentifierError` is what programs should branch on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

PERSONNUMMER = "personnummer"
SAMORDNINGSNUMMER = "samordningsnummer"
RESERVNUMMER = "reservnummer"
KINDS = (PERSONNUMMER, SAMORDNINGSNUMMER, RESERVNUMMER)

# Explicit [0-9] rather than \d: \d also matches non-ASCII digits such as "٣",
# which int() would happily accept and turn into a bogus identifier.
_NUMBER_RE = re.compile(r"(?P<century>[0-9]{2})?(?P<date>[0-9]{6})(?P<sep>[-+]?)(?P<tail>[0-9]{4})")
# Reservnummer formats differ between regions, so only the alphabet and the
# length are enforced. Checked before upper-casing because e.g. "ß".upper()
# turns into "SS" and would otherwise slip through.
_RESERV_RE = re.compile(r"[0-9A-Za-zÅÄÖåäö]{4,20}")

# Samordningsnummer store the birth day plus 60.
_COORDINATION_OFFSET = 60
# The oldest age a living person's number is taken for: an older birth date is a typo in the year (1850 for
# 1950), or a '+' that does not belong there.
MAX_AGE = 130

_MESSAGES = {
    "format": "Fel format: ange ÅÅÅÅMMDD-NNNN.",
    "date": "Ogiltigt datum i personnumret.",
    "checksum": "Kontrollsiffran stämmer inte.",
    "future": "Födelsedatumet ligger i framtiden.",
    "age": f"Födelsedatumet ger en ålder över {MAX_AGE} år.",
}


class IdentifierError(ValueError):
    """Invalid identifier; str() is a Swedish user-facing sentence, ``code`` a stable key.

    For the code "kind" (a number of another kind than the one asked for), ``found`` is the kind it is."""

    def __init__(self, message: str, code: str, found: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.found = found

    def __reduce__(self):
        # The default reduce would call cls(message) and lose ``code``.
        return (type(self), (self.message, self.code, self.found))


def _kind_error(found: str, kind: str) -> IdentifierError:
    return IdentifierError(f"Numret är ett {found}, inte ett {kind}.", "kind", found)


def _error(code: str) -> IdentifierError:
    return IdentifierError(_MESSAGES[code], code)


@dataclass(frozen=True, repr=False)
class PersonIdentifier:
    """A validated, normalised Swedish person identifier."""

    kind: str
    value: str
    birth_date: date | None
    legal_sex: str

    def masked(self) -> str:
        """Return a form that is safe for lists and logs (no serial or check digit)."""
        if self.kind == RESERVNUMMER:
            # Never reveal the last four characters, even for short reservnummer.
            shown = max(0, min(4, len(self.value) - 4))
            return self.value[:shown] + "****"
        return f"{self.value[:8]}-****"

    def display(self) -> str:
        """Return the full identifier in the conventional YYYYMMDD-NNNN form."""
        if self.kind == RESERVNUMMER:
            return self.value
        return f"{self.value[:8]}-{self.value[8:]}"

    def __repr__(self) -> str:
        # Keep full identifiers out of tracebacks, debug output and logs.
        return f"PersonIdentifier(kind={self.kind!r}, masked={self.masked()!r})"


def luhn_check_digit(nine_digits: str) -> int:
    """Return the Luhn check digit for the nine digits YYMMDDNNN."""
    if len(nine_digits) != 9 or not all("0" <= c <= "9" for c in nine_digits):
        raise ValueError("luhn_check_digit expects exactly nine ASCII digits")
    total = 0
    for index, char in enumerate(nine_digits):
        product = int(char) * (2 if index % 2 == 0 else 1)
        total += product // 10 + product % 10
    return (10 - total % 10) % 10


def parse_identifier(text: str, *, today: date, kind: str | None = None) -> PersonIdentifier:
    """Parse and validate a personnummer, samordningsnummer or (if asked) reservnummer."""
    if kind is not None and kind not in KINDS:
        # The value is not quoted: a personnummer posted in the wrong field must not reach a log.
        raise ValueError("unknown identifier kind")
    if isinstance(today, datetime):
        # A datetime's date depends on its time zone; make the caller decide.
        raise TypeError("today must be a date, not a datetime")
    if not isinstance(text, str):
        raise _error("format")

    stripped = text.strip()
    if kind == RESERVNUMMER:
        return _parse_reservnummer(stripped, today)

    parsed = _parse_number(stripped, today)
    if kind is not None and parsed.kind != kind:
        raise _kind_error(parsed.kind, kind)
    return parsed


def _parse_reservnummer(stripped: str, today: date) -> PersonIdentifier:
    compact = stripped.replace("-", "")
    if not _RESERV_RE.fullmatch(compact):
        raise IdentifierError(
            "Fel format: ett reservnummer består av 4–20 bokstäver eller siffror.",
            "format",
        )
    # A person is looked up by the hash of the value alone, whatever its kind: a reservnummer spelt as a
    # personnummer or samordningsnummer would be that number's holder (another person merged into their
    # record), so such a number is refused as the kind it is, to be typed as that kind.
    found = _number_kind(compact, today)
    if found is not None:
        raise _kind_error(found, RESERVNUMMER)
    return PersonIdentifier(
        kind=RESERVNUMMER,
        value=compact.upper(),
        birth_date=None,
        legal_sex="unknown",
    )


def _parse_number(stripped: str, today: date) -> PersonIdentifier:
    match = _NUMBER_RE.fullmatch(stripped)
    if match is None:
        raise _error("format")
    century, yymmdd, sep, tail = match.group("century", "date", "sep", "tail")
    # With a four-digit year the century is explicit, so '+' would be
    # contradictory or redundant; Skatteverket never writes it that way.
    if century is not None and sep == "+":
        raise _error("format")

    yy, month, stored_day = int(yymmdd[:2]), int(yymmdd[2:4]), int(yymmdd[4:])
    if 61 <= stored_day <= 91:
        kind = SAMORDNINGSNUMMER
        day = stored_day - _COORDINATION_OFFSET
    else:
        kind = PERSONNUMMER
        day = stored_day

    if century is not None:
        year = int(century) * 100 + yy
    else:
        year = _infer_year(yy, month, day, today, centenarian=sep == "+")

    try:
        birth_date = date(year, month, day)
    except ValueError:
        raise _error("date") from None

    ten_digits = yymmdd + tail
    if luhn_check_digit(ten_digits[:9]) != int(ten_digits[9]):
        raise _error("checksum")
    if birth_date > today:
        raise _error("future")
    if age_on(birth_date, today) > MAX_AGE:
        raise _error("age")

    return PersonIdentifier(
        kind=kind,
        value=f"{year:04d}{yymmdd[2:]}{tail}",
        birth_date=birth_date,
        legal_sex="male" if int(tail[2]) % 2 else "female",
    )


def _number_kind(compact: str, today: date) -> str | None:
    """The kind of number compact is when it is one by its shape (a real date and a right check digit),
    whether or not its birth date is taken today (in the future, or over MAX_AGE years back); else None."""
    try:
        return _parse_number(compact, today).kind
    except IdentifierError as error:
        if error.code not in ("future", "age"):
            return None
    # The day is the third pair of digits from the end of ten or twelve digits.
    return SAMORDNINGSNUMMER if 61 <= int(compact[-6:-4]) <= 91 else PERSONNUMMER


# The age of majority (föräldrabalken 9 kap. 1 §): custody ends, the person consents and approves themselves.
ADULT_AGE = 18


def of_age_on(born: date) -> date:
    """The day a person born on born turns 18 (born on 29 February: 1 March of a year without one)."""
    try:
        return born.replace(year=born.year + ADULT_AGE)
    except ValueError:
        return date(born.year + ADULT_AGE, 3, 1)


def last_day_as_minor(born: date) -> date:
    """The day before a person born on born turns 18: the last day of custody, so of a guardian's consent."""
    return of_age_on(born) - timedelta(days=1)


def is_minor(born: date | None, today: date) -> bool:
    """Under 18 on today; a person whose birth date is unknown is not taken to be a minor."""
    return born is not None and today < of_age_on(born)


def age_on(birth_date: date, today: date) -> int:
    """Whole years from birth_date to today, the one rule of a person's age: it turns on the birthday (one
    born on 29 February turns a year older on 1 March)."""
    return today.year - birth_date.year - ((today.month, today.day) < (birth_date.month, birth_date.day))


def _infer_year(yy: int, month: int, day: int, today: date, *, centenarian: bool) -> int:
    # Compare tuples rather than dates: the day may not exist in the candidate
    # year (e.g. 29 Feb); that is reported later as an invalid date.
    year = today.year - today.year % 100 + yy
    if (year, month, day) > (today.year, today.month, today.day):
        year -= 100
    if centenarian:
        year -= 100
    return year
