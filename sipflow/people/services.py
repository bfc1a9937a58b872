"""Persons: identifier hashing, lookup and registration."""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlmodel import Session, select

from sipflow.cases.errors import InvalidInput
from sipflow.clock import to_local
from sipflow.people.identifiers import IdentifierError, PersonIdentifier, parse_identifier
from sipflow.people.models import Municipality, Person


def identifier_hash(key: str, normalised: str) -> str:
    """Keyed hash of a normalised identifier: the only way persons are looked up."""
    return hmac.new(key.encode(), normalised.encode(), hashlib.sha256).hexdigest()


IDENTIFIER_KIND_LABELS = {
    "personnummer": _l("Personnummer"),
    "samordningsnummer": _l("Samordningsnummer"),
    "reservnummer": _l("Reservnummer"),
}
# The parser's own messages are Swedish only; these are what every page shows, in the user's language.
IDENTIFIER_MESSAGES = {
    "format": _l("Wrong format: enter YYYYMMDD-NNNN."),
    "date": _l("The date in the identifier does not exist."),
    "checksum": _l("The check digit is wrong."),
    "future": _l("The birth date lies in the future."),
}


def _identifier_message(error: IdentifierError, kind: str | None):
    if error.code == "format" and kind == "reservnummer":
        return _l("Wrong format: a reservnummer has 4 to 20 letters or digits.")
    if error.code == "kind":
        return _l("The number is not a %(kind)s.", kind=IDENTIFIER_KIND_LABELS.get(kind, kind))
    return IDENTIFIER_MESSAGES.get(error.code, str(error))


def parse_person_identifier(text: str, *, kind: str | None, now: datetime) -> PersonIdentifier:
    """Parse an identifier or raise InvalidInput on the identifier field, in the user's language."""
    try:
        return parse_identifier(text, today=to_local(now).date(), kind=kind)
    except IdentifierError as error:
        raise InvalidInput(_identifier_message(error, kind), field="identifier") from None


def find_person(session: Session, hash_key: str, identifier: PersonIdentifier) -> Person | None:
    """The person with this identifier, if registered."""
    digest = identifier_hash(hash_key, identifier.value)
    return session.exec(select(Person).where(Person.id_hash == digest)).first()


def register_person(
    session: Session,
    hash_key: str,
    identifier: PersonIdentifier,
    *,
    given_name: str,
    family_name: str,
    home_municipality_code: str,
    now: datetime,
) -> Person:
    """Return the registered person for identifier, creating or updating name and home municipality."""
    if session.get(Municipality, home_municipality_code) is None:
        raise InvalidInput(_l("Unknown municipality."), field="home_municipality_code")
    if not given_name.strip() or not family_name.strip():
        raise InvalidInput(_l("Enter the person's given and family name."), field="given_name")
    person = find_person(session, hash_key, identifier)
    if person is None:
        person = Person(
            id_kind=identifier.kind,
            id_number=identifier.value,
            id_hash=identifier_hash(hash_key, identifier.value),
            birth_date=identifier.birth_date,
            legal_sex=identifier.legal_sex,
            created_at=now,
            given_name=given_name.strip(),
            family_name=family_name.strip(),
            home_municipality_code=home_municipality_code,
        )
    else:
        person.given_name = given_name.strip()
        person.family_name = family_name.strip()
        person.home_municipality_code = home_municipality_code
    session.add(person)
    session.flush()
    return person
