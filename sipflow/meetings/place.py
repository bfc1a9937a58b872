"""A meeting's place (address, room) must not identify the person the SIP is for: the one rule's use here.

The place staff type is the only typed text an invitation e-mail, its .ics (LOCATION, DESCRIPTION) and the
staff calendar feed carry, and those are copied, shared and synced to phones. So it is refused, at its
field, when `people.identifying` finds in it
- a valid personnummer or samordningsnummer, however its digits are written apart ("2005 08 23 - 9829");
  a phone number or a postcode is not one (see people.identifying for what may happen to be);
- the person's birth date written as the date of a personnummer followed by four digits, whatever the check
  digit ("19660606-1011" for someone born 1966-06-06 whose number ends 1015): it still tells the birth date;
- a word of the registered given or family name of the person, or of the name of a närstående or guardian
  taking part in the SIP (an active participant of that kind): as a whole word, without case and accents,
  with a genitive -s ("Sandbergs hem") and with punctuation inside the word taken out ("Vi-ktoria").
  "Bergsgatan" is not the name Berg; a street named after someone of such a name (Karl Johans väg for a
  Karl) is refused too, the price of a simple rule.

Every writer of a meeting's place asks it: a booking (meetings.booking.read_booking: the booking page, a
further meeting, the kallelse step), a change (meetings.services.change_meeting) and a kallelse recorded
from another system (meetings.inputs.apply_kallelse). The video link is no typed text (made from
SIPFLOW_VIDEO_URL_TEMPLATE and a random room), so nothing is asked of it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from sqlmodel import Session, select

from sipflow.cases.models import PRIVATE_KINDS, Participant, SipCase
from sipflow.clock import to_local
from sipflow.errors import InvalidInput, Refusals
from sipflow.people.identifying import holds_birth_date, holds_identifier, name_words, names_in
from sipflow.people.models import Person
from sipflow.translated import lazy_gettext as _l

# The participants whose names a place may not hold (cases.models.PRIVATE_KINDS), besides the person's own.

IDENTIFIER_IN_PLACE = _l(
    "This looks like a personnummer or samordningsnummer. The place goes into every invitee's e-mail and "
    "calendar and must not identify the person: write only where to meet."
)
NAME_IN_PLACE = _l(
    "This holds the name of the person the SIP is for. The place goes into every invitee's e-mail and "
    "calendar and must not identify the person: write only where to meet."
)
RELATIVE_NAME_IN_PLACE = _l(
    "This holds the name of a relative, guardian or legal representative taking part in the SIP. The place "
    "goes into every invitee's e-mail and calendar and must not identify the person: write only where to "
    "meet."
)


def place_refusal(
    text: str | None,
    names: frozenset[str],
    *,
    today: date,
    relatives: frozenset[str] = frozenset(),
    birth_date: date | None = None,
):
    """Why text may not be a meeting's place (the message), or None; names: name_words of the person,
    relatives: those of the närstående and guardians taking part; birth_date: the person's, refused as the
    date of a personnummer whatever its check digit (people.identifying.holds_birth_date)."""
    if not text:
        return None
    if holds_identifier(text, today=today) or holds_birth_date(text, birth_date):
        return IDENTIFIER_IN_PLACE
    if names_in(text, names):
        return NAME_IN_PLACE
    if names_in(text, relatives):
        return RELATIVE_NAME_IN_PLACE
    return None


def refuse_identifying_place(
    session: Session, case: SipCase, typed: Iterable[tuple[str, str | None]], *, now: datetime
) -> None:
    """Refuse each typed (field, text) of a meeting's place that identifies the case's person, all at once.

    The person and the names of the närstående and guardians taking part are read only when some text was
    typed (a video meeting has none).
    """
    typed = [(field, text) for field, text in typed if text]
    if not typed:
        return
    person = session.get(Person, case.person_id)
    names = name_words(person.given_name, person.family_name) if person is not None else frozenset()
    relatives = name_words(
        *session.exec(
            select(Participant.name).where(
                Participant.case_id == case.id, Participant.kind.in_(PRIVATE_KINDS), Participant.active
            )
        ).all()
    )
    birth_date = person.birth_date if person is not None else None
    today = to_local(now).date()
    refusals = Refusals()
    for field, text in typed:
        refusals.take(_refuse, field, text, names, relatives, today, birth_date)
    refusals.raise_any()


def _refuse(
    field: str,
    text: str,
    names: frozenset[str],
    relatives: frozenset[str],
    today: date,
    birth_date: date | None,
) -> None:
    message = place_refusal(text, names, today=today, relatives=relatives, birth_date=birth_date)
    if message is not None:
        raise InvalidInput(message, field=field)
