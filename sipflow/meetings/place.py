"""A meeting's place (address, room) must not identify the person the SIP is for: the one rule.

The place staff type is the only typed text an invitation e-mail, its .ics (LOCATION, DESCRIPTION) and the
staff calendar feed carry, and those are copied, shared and synced to phones. So it is refused, at its
field, when it holds
- something that looks like a personnummer or samordningsnummer: 10 or 12 digits, the last four apart by
  "-", "+" or a space or not at all, not part of a longer number, that people.identifiers.parse_identifier
  takes (a real date, the check digit right). A phone number ("0470-123 45") or a postcode ("352 30") is
  not one; a ten-digit mobile number written without a space may happen to be;
- a word of the person's registered given or family name, as a whole word (a name of two or more letters,
  each part of a double name "Öberg-Test" or of several given names on its own), compared without case and
  without accents: "OBERG" or "Oberg" names Öberg as well, typed on a keyboard without Swedish letters.
  "Bergsgatan" is not the name Berg; a street named after someone of the person's name (Karl Johans väg
  for a Karl) is refused too, the price of a simple rule.

Every writer of a meeting's place asks it: a booking (meetings.booking.read_booking: the booking page, a
further meeting, the kallelse step), a change (meetings.services.change_meeting) and a kallelse recorded
from another system (meetings.inputs.apply_kallelse). The video link is no typed text (made from
SIPFLOW_VIDEO_URL_TEMPLATE and a random room), so nothing is asked of it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from datetime import date, datetime

from sqlmodel import Session

from sipflow.cases.models import SipCase
from sipflow.clock import to_local
from sipflow.errors import InvalidInput, Refusals
from sipflow.people.identifiers import IdentifierError, parse_identifier
from sipflow.people.models import Person
from sipflow.translated import lazy_gettext as _l

# A personnummer's shape anywhere in a text: [century] YYMMDD, a separator or none, four digits; no digit
# on either side (a longer number is no personnummer). The parser decides whether it is one.
_NUMBER_SHAPE = re.compile(r"(?<![0-9])(?:[0-9]{2})?[0-9]{6}[-+ ]?[0-9]{4}(?![0-9])")
_WORD = re.compile(r"\w+")

IDENTIFIER_IN_PLACE = _l(
    "This looks like a personnummer or samordningsnummer. The place goes into every invitee's e-mail and "
    "calendar and must not identify the person: write only where to meet."
)
NAME_IN_PLACE = _l(
    "This holds the name of the person the SIP is for. The place goes into every invitee's e-mail and "
    "calendar and must not identify the person: write only where to meet."
)


def _folded(text: str) -> str:
    """text without case and accents: "Öberg" and "OBERG" alike give "oberg"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _words(text: str) -> set[str]:
    return set(_WORD.findall(_folded(text)))


def name_words(given_name: str | None, family_name: str | None) -> frozenset[str]:
    """The words of a person's names the rule looks for (folded; a single letter, an initial, is none)."""
    return frozenset(word for word in _words(f"{given_name or ''} {family_name or ''}") if len(word) > 1)


def holds_identifier(text: str, *, today: date) -> bool:
    """Whether text holds a valid personnummer or samordningsnummer (on today), whatever is around it."""
    for match in _NUMBER_SHAPE.finditer(text):
        try:
            parse_identifier(match.group().replace(" ", "-"), today=today)
        except IdentifierError:
            continue
        return True
    return False


def place_refusal(text: str | None, names: frozenset[str], *, today: date):
    """Why text may not be a meeting's place (the message), or None; names: name_words of the person."""
    if not text:
        return None
    if holds_identifier(text, today=today):
        return IDENTIFIER_IN_PLACE
    if names & _words(text):
        return NAME_IN_PLACE
    return None


def refuse_identifying_place(
    session: Session, case: SipCase, typed: Iterable[tuple[str, str | None]], *, now: datetime
) -> None:
    """Refuse each typed (field, text) of a meeting's place that identifies the case's person, all at once.

    The person is read only when some text was typed (a video meeting has none).
    """
    typed = [(field, text) for field, text in typed if text]
    if not typed:
        return
    person = session.get(Person, case.person_id)
    names = name_words(person.given_name, person.family_name) if person is not None else frozenset()
    today = to_local(now).date()
    refusals = Refusals()
    for field, text in typed:
        refusals.take(_refuse, field, text, names, today)
    refusals.raise_any()


def _refuse(field: str, text: str, names: frozenset[str], today: date) -> None:
    message = place_refusal(text, names, today=today)
    if message is not None:
        raise InvalidInput(message, field=field)
