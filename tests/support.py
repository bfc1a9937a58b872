"""Test helpers that are not fixtures: valid identifiers and the log scan (import as `support`)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

from sipflow.people.identifiers import IdentifierError, luhn_check_digit, parse_identifier

FIXED_NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
_IDENTIFIER_LIKE = re.compile(r"(?<!\d)(?:\d{2})?\d{6}[-+]?\d{4}(?!\d)")


def valid_personnummer(birth: date, serial: int = 238) -> str:
    """A valid 12-digit personnummer for birth and a three-digit serial."""
    nine = birth.strftime("%y%m%d") + f"{serial:03d}"
    return birth.strftime("%Y%m%d") + f"{serial:03d}" + str(luhn_check_digit(nine))


def personnummer_in(lines: list[str]) -> list[str]:
    """The lines holding a valid personnummer or samordningsnummer (check digit and date right)."""
    found = []
    for line in lines:
        for match in _IDENTIFIER_LIKE.finditer(line):
            try:
                parse_identifier(match.group(0), today=FIXED_NOW.date())
            except IdentifierError:
                continue
            found.append(line)
            break
    return found
