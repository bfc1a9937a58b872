"""Administration operations: find a person and hand out their extracts (users: `sipflow.admin.users`).

Each runs inside the caller's unit of work. What an administrator does about a person is written to the
access log with its purpose, in the same transaction as the rest of the operation. A person outside the
administrator's region (`regions.may_administer_person`) is to them as one never registered: not found,
no extract, no change. The purpose may not identify anyone (`check_purpose`, the rule of
`people.identifying`): it is kept in the access log and printed in the extract of everyone the row
concerns.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlmodel import Session

from sipflow.admin.regions import admin_region, may_administer_person
from sipflow.admin.users import disable_user, enable_user, end_user_sessions  # noqa: F401 - callers find them here
from sipflow.clock import to_local
from sipflow.errors import Refusals, UserError
from sipflow.people import services as people
from sipflow.people.identifying import name_words, refuse_identifying_purpose
from sipflow.people.models import Person, User
from sipflow.retention.export import person_export_json
from sipflow.security.audit import PERSON_EXPORT, PERSON_EXTRACT, record_access
from sipflow.translated import lazy_gettext as _l

logger = logging.getLogger(__name__)

# Said of a person outside the administrator's region just as of one never registered.
NO_SUCH_PERSON = _l("No person with this identifier is registered in sipflow.")


class UnknownPerson(UserError):
    """The person is outside the administrator's region: refused as if they were not registered."""

    status = 404
    code = "not_found"


def _may_administer(session: Session, actor: User):
    region = admin_region(session, actor)
    return lambda person: may_administer_person(session, region, person)


def _check_administers(session: Session, actor: User, person: Person) -> None:
    # The pages never offer such a person (administered_person): this guards other callers.
    if not _may_administer(session, actor)(person):
        raise UnknownPerson(NO_SUCH_PERSON)


def check_purpose(purpose: str | None, *, person: Person | None = None, now: datetime, also=()) -> None:
    """Refuse, at the purpose field, a purpose holding a personnummer or samordningsnummer, or (when the
    person is known) a word of their given or family name, or of the names in also (a new name typed)."""
    names = name_words(person.given_name, person.family_name, *also) if person is not None else frozenset()
    refuse_identifying_purpose(purpose, names=names, today=to_local(now).date())


def look_up_person(
    session: Session, actor: User, hash_key: str, typed: str, *, kind: str | None, purpose: str, now: datetime
) -> Person | None:
    """The person registered under the identifier typed (of kind, or a personnummer or samordningsnummer)
    if actor may administer them, the look-up logged with its purpose; None when nobody is or the person is
    outside actor's region (that refusal logged as denied).

    An identifier that does not parse and a purpose holding a number are refused together, at their fields.
    The person's name is not asked of the purpose here: they are known only once found, and a refusal then
    would tell the administrator whose number it is with no row in the log (their page's forms ask it).
    """
    refusals = Refusals()
    identifier = refusals.take(people.parse_person_identifier, typed, kind=kind, now=now)
    refusals.take(check_purpose, purpose, now=now)
    refusals.raise_any()
    may_see = _may_administer(session, actor)
    return people.look_up_person(
        session, actor, hash_key, identifier, purpose=purpose, now=now, may_see=may_see
    )


def administered_person(session: Session, actor: User, person_id: int | None) -> Person | None:
    """The person with person_id if actor may administer them; None when there is none or they may not."""
    person = session.get(Person, person_id) if isinstance(person_id, int) else None
    if person is None or not _may_administer(session, actor)(person):
        return None
    return person


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
    shown: str | None = None,
) -> bool:
    """`people.services.change_person_particulars` for a person actor may administer; UnknownPerson else.

    A purpose naming the person (by the name they have or the one typed) is refused with the particulars'
    own refusals, all at once.
    """
    _check_administers(session, actor, person)
    refusals = Refusals()
    refusals.take(check_purpose, purpose, person=person, also=(given_name, family_name), now=now)
    if refusals.errors:
        refusals.take(people.check_particulars, session, given_name, family_name, home_municipality_code)
        refusals.raise_any()
    return people.change_person_particulars(
        session,
        actor,
        person,
        given_name=given_name,
        family_name=family_name,
        home_municipality_code=home_municipality_code,
        purpose=purpose,
        now=now,
        shown=shown,
    )


def person_log_extract(
    session: Session, actor: User, person: Person, *, file_format: str, purpose: str, now: datetime
) -> tuple[bytes, str, str]:
    """The loggutdrag of the person as (data, mimetype, file extension), CSV or PDF; logged itself."""
    # reportlab is loaded when the first extract is asked for, not at every start.
    from sipflow.security.extract import access_extract_csv, access_extract_pdf

    _check_administers(session, actor, person)
    check_purpose(purpose, person=person, now=now)
    # Built before the log row: the extract shows the accesses up to this one.
    if file_format == "csv":
        # Flask adds the charset to a text type: naming it here too sent it twice.
        result = access_extract_csv(session, person.id), "text/csv", "csv"
    else:
        result = access_extract_pdf(session, person.id, now=now), "application/pdf", "pdf"
    _record(session, actor, person, action=PERSON_EXTRACT, purpose=purpose, now=now)
    return result


def person_register_extract(
    session: Session, actor: User, person: Person, *, purpose: str, now: datetime
) -> bytes:
    """Everything sipflow holds about the person (GDPR art. 15) as JSON; logged itself."""
    _check_administers(session, actor, person)
    check_purpose(purpose, person=person, now=now)
    data = person_export_json(session, person.id, now=now)
    _record(session, actor, person, action=PERSON_EXPORT, purpose=purpose, now=now)
    return data


def _record(
    session: Session, actor: User, person: Person, *, action: str, purpose: str, now: datetime
) -> None:
    record_access(session, user=actor, action=action, purpose=purpose, person=person, now=now)
    logger.info("%s for person id %s by user id %s", action, person.id, actor.id)
