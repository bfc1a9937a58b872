"""Persons: identifier hashing, lookup, registration and the change of their particulars."""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, exists, false, func, true
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, select

from sipflow.cases.fields import normalised, one_line
from sipflow.cases.models import SipCase
from sipflow.clock import to_local
from sipflow.db import bump_row_version, insert_unless_taken
from sipflow.errors import Conflict, InvalidInput, NotAllowed, Refusals
from sipflow.i18n import checked_language
from sipflow.people import identifiers
from sipflow.people.identifiers import (
    PERSONNUMMER,
    RESERVNUMMER,
    SAMORDNINGSNUMMER,
    IdentifierError,
    PersonIdentifier,
    parse_identifier,
)
from sipflow.people.models import Municipality, Organisation, Person, User
from sipflow.security import access, audit
from sipflow.translated import lazy_gettext as _l

logger = logging.getLogger(__name__)


# An organisation's county: its own, else its municipality's (None: a national one, such as an agency). A
# column of a statement that outer-joins Municipality on Organisation.municipality_code.
ORGANISATION_COUNTY = func.coalesce(Organisation.county_code, Municipality.county_code)


def organisation_county(session: Session, organisation_id: int | None) -> str | None:
    """The county of the organisation (ORGANISATION_COUNTY); None for a national one or for None."""
    if organisation_id is None:
        return None
    return session.exec(
        select(ORGANISATION_COUNTY)
        .select_from(Organisation)
        .outerjoin(Municipality, Municipality.code == Organisation.municipality_code)
        .where(Organisation.id == organisation_id)
    ).first()


def identifier_hash(key: str, normalised: str) -> str:
    """Keyed hash of a normalised identifier: the only way persons are looked up."""
    return hmac.new(key.encode(), normalised.encode(), hashlib.sha256).hexdigest()


def hash_key_refused(engine: Engine, hash_key: str) -> str | None:
    """Why the database's persons cannot be found under hash_key (SIPFLOW_PNR_HASH_KEY), or None.

    The first registered person's hash, made again from their stored identifier, tells whether the key is
    the one they were registered under: restored with another key (or none, in development) no one would be
    found by personnummer, and a SIP started for them would register them a second time. An empty database,
    or one that cannot answer yet (not migrated, not reachable), is no reason to refuse.
    """
    try:
        with Session(engine) as session:
            first = session.exec(
                select(Person.id_number, Person.id_hash).order_by(Person.id).limit(1)
            ).first()
    except SQLAlchemyError:
        return None
    finally:
        # No connection of the start is left in the pool for a forked worker to share.
        engine.dispose()
    if first is None or hmac.compare_digest(identifier_hash(hash_key, first[0]), first[1]):
        return None
    return (
        "SIPFLOW_PNR_HASH_KEY is not the key the persons in the database were registered under: no one "
        "would be found by personnummer, and a SIP started for them would register them a second time. "
        "Give the key kept with the backup (the region's store of secrets)"
    )


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
    "age": _l(
        "The birth date gives an age over %(years)d years: check the number.", years=identifiers.MAX_AGE
    ),
}


NO_IDENTIFIER = _l(
    "Enter a personnummer or samordningsnummer (YYYYMMDD-NNNN), or a reservnummer (4 to 20 letters or "
    "digits)."
)


IDENTIFIER_TAKEN = _l(
    "The number is registered to a person with another kind of identifier. Ask an administrator to check "
    "the person's identifier."
)


def _identifier_message(error: IdentifierError, kind: str | None):
    if error.code == "format" and kind == "reservnummer":
        return _l("Wrong format: a reservnummer has 4 to 20 letters or digits.")
    if error.code == "kind":
        # Named in lower case (the same words in both languages), as in the middle of a sentence.
        found = error.found or (SAMORDNINGSNUMMER if kind == PERSONNUMMER else PERSONNUMMER)
        if kind == RESERVNUMMER:
            return _l(
                "The number is a %(found)s, not a reservnummer: choose %(found)s as the kind of identifier.",
                found=found,
            )
        return _l("The number is a %(found)s, not a %(kind)s.", found=found, kind=kind)
    return IDENTIFIER_MESSAGES.get(error.code, str(error))


def parse_person_identifier(text: str, *, kind: str | None, now: datetime) -> PersonIdentifier:
    """Parse an identifier or raise InvalidInput on the identifier field, in the user's language."""
    try:
        return parse_identifier(text, today=to_local(now).date(), kind=kind)
    except IdentifierError as error:
        raise InvalidInput(_identifier_message(error, kind), field="identifier") from None


def parse_any_identifier(text: str, *, now: datetime) -> PersonIdentifier:
    """A personnummer or samordningsnummer, or a reservnummer when the text holds a letter (a search field).

    A text of digits only stays a number, so a mistyped personnummer is refused as such rather than read
    as a reservnummer nobody has.
    """
    try:
        return parse_person_identifier(text, kind=None, now=now)
    except InvalidInput:
        if not isinstance(text, str) or not any(c.isalpha() for c in text):
            raise
    try:
        return parse_person_identifier(text, kind=RESERVNUMMER, now=now)
    except InvalidInput:
        # A text that fits none ("hej"): say what may be typed, not how a reservnummer is made alone, which
        # someone looking up a personnummer would not follow.
        raise InvalidInput(NO_IDENTIFIER, field="identifier") from None


def find_person(session: Session, hash_key: str, identifier: PersonIdentifier) -> Person | None:
    """The person with this identifier, if registered: of its kind too (the hash is of the value alone)."""
    digest = identifier_hash(hash_key, identifier.value)
    return session.exec(
        select(Person).where(Person.id_hash == digest, Person.id_kind == identifier.kind)
    ).first()


def look_up_person(
    session: Session,
    actor: User,
    hash_key: str,
    identifier: PersonIdentifier,
    *,
    purpose: str,
    now: datetime,
    may_see: Callable[[Person], bool] | None = None,
) -> Person | None:
    """The person registered under identifier, the look-up logged with its purpose in the caller's
    transaction; None when nobody is, the search logged all the same (outcome not found, naming no person:
    the identifier's keyed hash only, never the number).

    may_see: whether the actor may find the person found; a person it refuses is None too, as if never
    registered, the refusal logged as a denied look-up naming them (their loggutdrag shows who tried).
    """
    person = find_person(session, hash_key, identifier)
    if person is None:
        logger.info("person lookup by user id %s found nobody", actor.id)
        audit.record_access(
            session,
            user=actor,
            action=audit.PERSON_LOOKUP,
            purpose=purpose,
            outcome=audit.NOT_FOUND,
            id_hash=identifier_hash(hash_key, identifier.value),
            now=now,
        )
        return None
    allowed = may_see is None or may_see(person)
    audit.record_access(
        session,
        user=actor,
        action=audit.PERSON_LOOKUP,
        purpose=purpose,
        person=person,
        outcome=audit.ALLOWED if allowed else audit.DENIED,
        now=now,
    )
    if not allowed:
        logger.info("person lookup by user id %s refused: the person is outside their scope", actor.id)
        return None
    return person


@dataclass(frozen=True)
class PersonRegistration:
    """The person for an identifier, whether they were registered just now, and whether what was typed
    differs from their registered particulars (which it never changes)."""

    person: Person
    created: bool
    particulars_differ: bool


# Municipality codes found in the database, per database URL. Municipalities are SCB reference data: the
# app inserts them and renames them (people/reference.py merges the CSV) but never deletes or re-codes one
# while it runs (a merger is a data migration, deployed with a restart), so a code once found stays valid in
# every worker; a code not seen yet is asked of the database, so a new one is known at once.
_KNOWN_MUNICIPALITIES: set[tuple[str, str]] = set()


def _municipality_exists(session: Session, code: str) -> bool:
    """Whether the municipality code exists (the database asked only for a code this process has not seen)."""
    key = (str(session.get_bind().url), code)
    if key in _KNOWN_MUNICIPALITIES:
        return True
    if session.get(Municipality, code) is None:
        return False
    _KNOWN_MUNICIPALITIES.add(key)
    return True


def check_particulars(
    session: Session, given_name: str | None, family_name: str | None, home_municipality_code: str | None
):
    """Refuse an unknown municipality, an empty name and a name that is not one line of visible text (a
    control, direction or other invisible format character: fields.one_line, as for every name printed in
    a list, a PDF or an extract), each at its field, all at once. None: a value a page's own form check
    refused already, not asked about (Ny SIP asks about the rest, every one at once)."""
    refusals = Refusals()
    if home_municipality_code is not None and not _municipality_exists(session, home_municipality_code):
        refusals.refuse(_l("Unknown municipality."), "home_municipality_code")
    for name, value in (("given_name", given_name), ("family_name", family_name)):
        if isinstance(value, str):
            refusals.take(one_line, value.strip(), name)
    if (
        given_name is not None
        and family_name is not None
        and not (given_name.strip() and family_name.strip())
    ):
        refusals.refuse(_l("Enter the person's given and family name."), "given_name")
    refusals.raise_any()


def find_or_register_person(
    session: Session,
    hash_key: str,
    identifier: PersonIdentifier,
    *,
    given_name: str,
    family_name: str,
    home_municipality_code: str,
    now: datetime,
) -> PersonRegistration:
    """The registered person for identifier, registered now with these particulars if new; never changed."""
    check_particulars(session, given_name, family_name, home_municipality_code)
    typed = (normalised(given_name.strip()), normalised(family_name.strip()), home_municipality_code)
    values = {
        "id_kind": identifier.kind,
        "id_number": identifier.value,
        "id_hash": identifier_hash(hash_key, identifier.value),
        "birth_date": identifier.birth_date,
        "legal_sex": identifier.legal_sex,
        "created_at": now,
        "given_name": typed[0],
        "family_name": typed[1],
        "home_municipality_code": home_municipality_code,
    }
    if session.get_bind().dialect.name == "postgresql":
        # The look-up and the INSERT in one statement: a new person costs one round trip, not two.
        person, created = _find_or_insert(session, values)
    else:
        person, created = find_person(session, hash_key, identifier), False
        if person is None:
            person = _insert_unless_registered(session, values)
            created = person is not None
    if person is None:
        # Registered by another request since the lookup (its INSERT committed first): that one stands.
        person = find_person(session, hash_key, identifier)
        if person is None and session.get_bind().dialect.name == "postgresql":
            # Retention anonymised the person found while the statement waited for their row: their
            # identifier is free now, so they are registered anew from what was typed.
            person, created = _find_or_insert(session, values)
    if created:
        return PersonRegistration(person, created=True, particulars_differ=False)
    if person is None:
        # The value is another kind's (a reservnummer registered before such were refused): not theirs.
        raise InvalidInput(IDENTIFIER_TAKEN, field="identifier")
    # Whoever knows a personnummer may start a SIP: that must not let them rename the person for
    # everyone. A change of particulars is change_person_particulars, for those who may make it.
    registered = (person.given_name, person.family_name, person.home_municipality_code)
    return PersonRegistration(person, created=False, particulars_differ=registered != typed)


def _insert_unless_registered(session: Session, values: dict) -> Person | None:
    """INSERT the person and return them, or None when their identifier is registered already.

    ON CONFLICT DO NOTHING on the identifier's unique hash: two requests registering the same new person at
    once both get past the lookup, and the second must not fail on the unique key (a server error, the
    typed form lost); it finds the first one's row instead.
    """
    return session.scalars(insert_unless_taken(session, Person, Person.id_hash), [values]).first()


def _find_or_insert_statement():
    """WITH registered AS (INSERT the person unless their hash is registered), SELECT them or the one found.

    PostgreSQL's one round trip for find_person then _insert_unless_registered. Both parts see the same
    snapshot, so the statement returns the new row (created true) or the registered one of the kind (false):
    nothing when neither (a row of another kind holds the hash, or another request's INSERT committed while
    this one waited on ON CONFLICT), and the caller then asks find_person. WHERE NOT EXISTS leaves a
    registered person's row, the sequence and every check alone, as the lookup alone did; OFFSET 0 keeps
    the planner from folding the typed values into the INSERT, where a value too long for its column would
    fail even when no row is inserted.

    The registered person's row is held (FOR SHARE) to the end of the transaction: retention anonymises a
    person only under FOR UPDATE of their row once none of their SIPs is kept (retention.anonymise.
    _persons_done), so it waits for the SIP this transaction starts and counts it; a row retention holds is
    waited for and read again as retention left it, found no more once its identifier was replaced.
    """
    table = Person.__table__
    columns = [column for column in table.columns if column.key != "id"]
    param = {column.key: bindparam(f"person_{column.key}", type_=column.type) for column in columns}
    unregistered = ~exists().where(table.c.id_hash == param["id_hash"])
    new = select(*(param[column.key] for column in columns)).where(unregistered).offset(0)
    registered = (
        postgresql_insert(table)
        .from_select(columns, new)
        .on_conflict_do_nothing(index_elements=[table.c.id_hash])
        .returning(*table.columns, true().label("created"))
        .cte("registered")
    )
    found = (
        select(*table.columns)
        .where(table.c.id_hash == param["id_hash"], table.c.id_kind == param["id_kind"])
        .with_for_update(read=True)
        .cte("found")
    )
    statement = select(*registered.c).union_all(select(*found.c, false().label("created")))
    return select(Person, statement.selected_columns.created).from_statement(statement)


# Built once: every Ny SIP sends it.
_FIND_OR_INSERT = _find_or_insert_statement()


def _find_or_insert(session: Session, values: dict) -> tuple[Person | None, bool]:
    """The person of values' hash and kind and whether this INSERT registered them; (None, False): neither."""
    row = session.execute(_FIND_OR_INSERT, {f"person_{key}": value for key, value in values.items()}).first()
    return (None, False) if row is None else (row[0], row[1])


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
    """The registered person for identifier, registered now if new (a registered one is never changed)."""
    return find_or_register_person(
        session,
        hash_key,
        identifier,
        given_name=given_name,
        family_name=family_name,
        home_municipality_code=home_municipality_code,
        now=now,
    ).person


PARTICULARS_CHANGED_MEANWHILE = _l(
    "Someone else changed the person's particulars while you were working. What you entered is kept "
    "below: check the name and folkbokföringskommun as they are now, and save again if it still applies."
)
PARTICULARS_MERGED = _l(
    "Someone else changed the person's particulars while you were working. A field you left as it was "
    "now shows their change; a field you changed keeps what you entered. Check the fields and save again."
)
# The notes of the plan editor's merge (plans.forms), in the same words.
TAKEN_IN = _l("Changed by someone else meanwhile.")
EMPTY = _l("(empty)")

# The particulars the form shows, each compared on its own when a page read before a change is sent.
PARTICULARS_FIELDS = ("given_name", "family_name", "home_municipality_code")
# Hex digits of one field's hash: enough to tell a change from none.
HASH_LENGTH = 12


def _field_hash(value: str | None) -> str:
    text = normalised((value or "").strip())
    return hashlib.sha256(text.encode()).hexdigest()[:HASH_LENGTH]


def particulars_digest(person: Person) -> str:
    """A fingerprint of each of the person's particulars as a page shows them: hashes, one per field.

    The particulars form carries it, so a change someone else made since the page was read is merged
    field by field rather than silently undone (the person row has no version of its own).
    """
    return ".".join(_field_hash(getattr(person, name)) for name in PARTICULARS_FIELDS)


def _parse_digest(shown: str) -> tuple[str, ...] | None:
    hashes = tuple(shown.split("."))
    if len(hashes) != len(PARTICULARS_FIELDS) or not all(
        re.fullmatch(f"[0-9a-f]{{{HASH_LENGTH}}}", h) for h in hashes
    ):
        return None
    return hashes


class ParticularsChanged(Conflict):
    """The particulars changed since the page was read: the form to show again, merged field by field.

    values: each field's value to show (what the user typed, or what is stored now where the user left the
    field as it was); notes: the fields taken in, with TAKEN_IN; clashes: the fields both changed,
    differently, with what they are now and what the user wrote. Nothing was written.
    """

    def __init__(self, values: dict[str, str], notes: dict[str, object], clashes: dict[str, object]):
        super().__init__(PARTICULARS_MERGED)
        self.values = values
        self.notes = notes
        self.clashes = clashes


def _municipality_name(session: Session, code: str | None) -> str:
    municipality = session.get(Municipality, code) if code else None
    return municipality.name if municipality is not None else (code or "")


def _merge_particulars(session: Session, person: Person, typed: dict[str, str], seen: tuple[str, ...]):
    """Raise ParticularsChanged: typed merged with the person's particulars now, seen being what was shown.

    A field the user left as it was takes the value now; one only they changed keeps theirs; one both
    changed, differently, keeps theirs with what it is now beside it, for them to choose.
    """
    values: dict[str, str] = {}
    notes: dict[str, object] = {}
    clashes: dict[str, object] = {}
    for name, hashed in zip(PARTICULARS_FIELDS, seen, strict=True):
        yours, now = typed[name], getattr(person, name)
        if _field_hash(yours) == _field_hash(now) or _field_hash(now) == hashed:
            values[name] = yours
        elif _field_hash(yours) == hashed:
            values[name] = now
            notes[name] = TAKEN_IN
        else:
            values[name] = yours
            if name == "home_municipality_code":
                theirs_shown = _municipality_name(session, now)
                yours_shown = _municipality_name(session, yours)
            else:
                theirs_shown, yours_shown = now, yours
            clashes[name] = _l(
                "Changed by someone else to %(theirs)s; you wrote %(yours)s.",
                theirs=theirs_shown or str(EMPTY),
                yours=yours_shown or str(EMPTY),
            )
    raise ParticularsChanged(values, notes, clashes)


def change_person_particulars(
    session: Session,
    actor: User,
    person: Person,
    *,
    given_name: str,
    family_name: str,
    home_municipality_code: str,
    purpose: str,
    now: datetime,
    case: SipCase | None = None,
    shown: str | None = None,
) -> bool:
    """Change the person's name and folkbokföringskommun, logged with purpose; False when nothing changed.

    Refused with NotAllowed unless `access.may_change_person` allows the actor. The access-log row is
    the last write, as `audit.record_access` asks; case names the SIP the change was made from, if any.
    shown: the `particulars_digest` of the particulars the form was read with; when they have changed since,
    ParticularsChanged with the form merged field by field (a field the user left takes the change made
    meanwhile, so one user's correction is not undone by another's old page); Conflict
    (PARTICULARS_CHANGED_MEANWHILE) when shown is no digest this gives.
    """
    if not access.may_change_person(session, actor, person, now=now):
        raise NotAllowed(_l("You may not change this person's particulars."))
    if shown and shown != particulars_digest(person):
        seen = _parse_digest(shown)
        if seen is None:
            raise Conflict(PARTICULARS_CHANGED_MEANWHILE)
        typed = {
            "given_name": given_name or "",
            "family_name": family_name or "",
            "home_municipality_code": home_municipality_code or "",
        }
        _merge_particulars(session, person, typed, seen)
    check_particulars(session, given_name, family_name, home_municipality_code)
    new = (normalised(given_name.strip()), normalised(family_name.strip()), home_municipality_code)
    if new == (person.given_name, person.family_name, person.home_municipality_code):
        return False
    person.given_name, person.family_name, person.home_municipality_code = new
    session.add(person)
    session.flush()
    audit.record_access(
        session, user=actor, action=audit.PERSON_CHANGE, purpose=purpose, case=case, person=person, now=now
    )
    # Ids only: the log never learns who the person is or what they are called.
    logger.info("particulars of person id %s changed by user id %s", person.id, actor.id)
    return True


def find_user_by_username(session: Session, typed: str) -> User | None:
    """The user a typed username names: as stored, else without regard to case (usernames are unique
    without regard to case, admin.users; a phone that capitalises the first letter still logs in)."""
    user = session.exec(select(User).where(User.username == typed)).first()
    if user is not None or not typed:
        return user
    found = session.exec(select(User).where(func.lower(User.username) == typed.lower()).limit(2)).all()
    return found[0] if len(found) == 1 else None


def set_user_language(session: Session, user: User, language: str) -> bool:
    """Store the language of user's pages and mail (one of LOCALES, else refused); False if already theirs."""
    language = checked_language(language)
    if user.language == language:
        return False
    user.language = language
    # The language is on the user's edit page: an administrator's form read before is stale.
    bump_row_version(user)
    session.add(user)
    return True
