"""The directory: organisations and their units, created, edited and deactivated by administrators.

Nothing here is ever deleted: cases, users and code records refer to organisations and units, so a unit
that closes is deactivated (it stays on the SIPs it took part in, and joins no new one). Every change is
written to the administration log with the values before and after, in the caller's unit of work. The
clean_* functions check and normalise what a form or an import line gives, raising InvalidInput naming
the field, so the pages and the CSV import refuse the same things with the same words. Each change asks
the actor's region first (`sipflow.admin.regions`): a region's administrator changes their county's
organisations and units only; the command line (actor None) and a national administrator change any.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from flask import current_app
from sqlalchemy import bindparam, tuple_, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, select

from sipflow.admin.changes import check_form_version, record_change, record_changes, stale_form
from sipflow.admin.regions import admin_region, check_organisation_change, check_unit_change, region_filter
from sipflow.cases.fields import one_line
from sipflow.cases.services import lock_cases, running_cases_of_units
from sipflow.db import add_all_unless_taken, bump_row_version, claim_row_version
from sipflow.errors import InvalidInput, UserError, every_refusal
from sipflow.lengths import fits, too_long
from sipflow.meetings.services import cases_reached_through, follow_directory_change
from sipflow.people.labels import LABEL_COLUMNS, organisation_labels
from sipflow.people.models import (
    MUNICIPALITY_KINDS,
    ORGANISATION_KINDS,
    UNIT_KINDS,
    County,
    Municipality,
    Organisation,
    Unit,
    User,
)
from sipflow.reminders.services import follow_unit_mailbox, unit_mailbox_cases
from sipflow.routing import KeysetPage, keyset_page
from sipflow.security.password_policy import has_control_characters
from sipflow.translated import lazy_gettext as _l

PAGE_SIZE = 50
# A select offers at most this many organisations (a county's directory holds a few hundred).
CHOICES_MAX = 2000

ORGANISATION_KIND_LABELS = {
    "region": _l("Region"),
    "municipality": _l("Municipality"),
    # The administrator tells the two apart when registering one: the plan treats them differently.
    "school": _l("School (the municipality's)"),
    "friskola": _l("Independent school (friskola)"),
    "other": _l("Other agency (e.g. Försäkringskassan)"),
}
UNIT_KIND_LABELS = {
    "vardcentral": _l("Primary care centre"),
    "sjukhus": _l("Hospital care"),
    "psykiatri": _l("Psychiatry"),
    "bup": _l("Child and adolescent psychiatry (BUP)"),
    "habilitering": _l("Habilitation"),
    "beroendevard": _l("Addiction care"),
    "socialtjanst": _l("Social services"),
    "boendestod": _l("Housing support"),
    "hemtjanst": _l("Home care"),
    "lss": _l("Disability support (LSS)"),
    "elevhalsa": _l("Student health"),
    "other": _l("Other unit"),
}
assert set(ORGANISATION_KIND_LABELS) == set(ORGANISATION_KINDS)
assert set(UNIT_KIND_LABELS) == set(UNIT_KINDS)

# Keys are what imports and scripts name an organisation or unit by: short, lower case, stable.
KEY_RE = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
# HSA-id: "SE", the 10-digit organisation number of the care provider, "-", then its own serial of
# letters and digits; the catalogue allows 31 characters in all (e.g. SE2321000016-15CQ).
# ASCII: \d would take the digits of every script, and the national catalogue's ids are ASCII.
HSA_ID_RE = re.compile(r"SE[0-9]{10}-[A-Z0-9]{1,18}")
EMAIL_RE = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
NAME_MAX = 160
EMAIL_MAX = 254
EMAIL_EXAMPLE = _l("Enter an e-mail address such as name@example.se.")

ORGANISATION_FIELDS = ("key", "name", "kind", "county_code", "municipality_code", "active")
UNIT_FIELDS = ("key", "organisation_id", "name", "kind", "is_health_care", "email", "hsa_id", "active")


def _text(value: str | None) -> str:
    return (value or "").strip()


def snapshot(row: Organisation | Unit) -> dict:
    """The logged fields of an organisation or unit, for the administration log's before and after."""
    fields = ORGANISATION_FIELDS if isinstance(row, Organisation) else UNIT_FIELDS
    return {name: getattr(row, name) for name in fields}


@dataclass
class DirectoryRead:
    """What checking many lines of organisations and units asks of the directory (an import's file, a batch
    of new units), read for all of them in a statement or two (read_directory), not once per line. A kind
    not read (None, or a value or organisation not among those read) is asked as a form asks it."""

    # The units holding the HSA-ids read ({HSA-id: unit id}; an id read and held by none is absent).
    hsa_ids_read: frozenset[str] = frozenset()
    hsa_holders: dict[str, int] = field(default_factory=dict)
    # The active units of the organisations read: {organisation id: [(unit id, name)]}.
    unit_names: dict[int, list[tuple[int | None, str]]] = field(default_factory=dict)
    # Every active organisation (id, key, name), when read.
    organisation_names: list[tuple[int | None, str, str]] | None = None
    # The counties and municipalities read, held so the session's get finds them without a statement.
    places: list = field(default_factory=list)


def read_directory(
    session: Session,
    *,
    hsa_ids: Iterable[str | None] = (),
    organisation_ids: Iterable[int] = (),
    organisations: bool = False,
    place_codes: Iterable[str | None] = (),
) -> DirectoryRead:
    """The DirectoryRead of the HSA-ids (as typed; those no HSA-id are left out), the active units' names of
    the organisations, every active organisation's name (organisations), the municipalities of place_codes
    and every county: a statement for each kind asked, however many lines ask it."""
    read = DirectoryRead()
    ids = set()
    for value in hsa_ids:
        try:
            hsa_id = clean_hsa_id(value)
        except InvalidInput:
            continue
        if hsa_id is not None:
            ids.add(hsa_id)
    if ids:
        read.hsa_ids_read = frozenset(ids)
        read.hsa_holders = dict(
            session.exec(select(Unit.hsa_id, Unit.id).where(col(Unit.hsa_id).in_(ids))).all()
        )
    organisation_ids = set(organisation_ids)
    if organisation_ids:
        read.unit_names = {organisation_id: [] for organisation_id in organisation_ids}
        for unit_id, organisation_id, name in session.exec(
            select(Unit.id, Unit.organisation_id, Unit.name).where(
                col(Unit.organisation_id).in_(organisation_ids), Unit.active
            )
        ).all():
            read.unit_names[organisation_id].append((unit_id, name))
    if organisations:
        read.organisation_names = list(
            session.exec(
                select(Organisation.id, Organisation.key, Organisation.name).where(Organisation.active)
            )
        )
    codes = {code for value in place_codes if (code := _text(value))}
    if codes:
        read.places = [
            # Every county (21): a municipality's own is asked too.
            *session.exec(select(County)).all(),
            *session.exec(select(Municipality).where(col(Municipality.code).in_(codes))).all(),
        ]
    return read


def clean_key(value: str | None) -> str:
    """A key as stored: lower case letters, digits, '.', '_' or '-', 64 at most."""
    key = _text(value).lower()
    if not key:
        raise InvalidInput(_l("Fill in a key."), field="key")
    if not KEY_RE.fullmatch(key):
        raise InvalidInput(
            _l("A key is at most 64 lower-case letters a-z, digits, '.', '_' or '-'."), field="key"
        )
    return key


def clean_name(value: str | None) -> str:
    """A name as stored: trimmed, not empty, one line, 160 characters at most."""
    name = _text(value)
    if not name:
        raise InvalidInput(_l("Fill in a name."), field="name")
    if not fits(name, NAME_MAX):
        raise InvalidInput(too_long(NAME_MAX), field="name")
    return one_line(name, "name")


def clean_email(value: str | None) -> str | None:
    """An e-mail address as stored (None when empty): a unit's mailbox, a user's address (users.py asks it
    too), refused in one wording wherever it is typed."""
    email = _text(value)
    if not email:
        return None
    if len(email) > EMAIL_MAX or not EMAIL_RE.fullmatch(email) or has_control_characters(email):
        raise InvalidInput(EMAIL_EXAMPLE, field="email")
    return email


def clean_hsa_id(value: str | None) -> str | None:
    """An HSA-id as stored, upper case (None when empty); SE + 10 digits + '-' + a serial, 31 at most."""
    hsa_id = _text(value).upper()
    if not hsa_id:
        return None
    if not HSA_ID_RE.fullmatch(hsa_id):
        raise InvalidInput(
            _l(
                "An HSA-id is SE, 10 digits, a hyphen and up to 18 letters or digits, e.g. SE2321000016-15CQ."
            ),
            field="hsa_id",
        )
    return hsa_id


def clean_organisation(
    session: Session,
    *,
    name: str | None,
    kind: str | None,
    county_code: str | None,
    municipality_code: str | None,
    organisation: Organisation | None = None,
    released: Collection[int] = (),
    read: DirectoryRead | None = None,
) -> dict:
    """Check an organisation's fields (every refusal at once); a municipality gives its county, a region
    needs a county, and a new name another active organisation has is refused (organisation: the one being
    changed, None for a new one), but for the organisations of released: the same change renames them (an
    import's file), so their present names are free. read: the directory read for many lines at once."""
    name, kind, place = every_refusal(
        (
            lambda: _free_organisation_name(session, name, organisation, released, read),
            lambda: _organisation_kind(kind),
            lambda: _place(session, _text(kind), county_code, municipality_code),
        )
    )
    return {"name": name, "kind": kind, **place}


def _free_organisation_name(
    session: Session,
    value: str | None,
    organisation: Organisation | None,
    released: Collection[int] = (),
    read: DirectoryRead | None = None,
) -> str:
    """A clean organisation name no other active organisation has, compared as unit names are: every picker
    of a unit groups the units under their organisation's name, and two alike could not be told apart. An
    organisation keeping its name is not asked (one made before this rule keeps its twin's name); the
    organisations of released are left out (their names are changing too)."""
    name = clean_name(value)
    if organisation is not None and unit_name_key(organisation.name) == unit_name_key(name):
        return name
    # Compared here, not in SQL: SQLite folds ASCII case only ("Ö", "ö"); a county has a few hundred. The
    # released are left out here too (in the SQL, a file renaming hundreds sent them with each line).
    own_id = organisation.id if organisation is not None else 0
    if read is not None and read.organisation_names is not None:
        others = read.organisation_names
    else:
        others = session.exec(
            select(Organisation.id, Organisation.key, Organisation.name).where(
                Organisation.active, Organisation.id != own_id
            )
        ).all()
    for other_id, key, other in others:
        if other_id == own_id or other_id in released:
            continue
        if unit_name_key(other) == unit_name_key(name):
            raise InvalidInput(_l("Another organisation (key %(key)s) has this name.", key=key), field="name")
    return name


def _organisation_kind(kind: str | None) -> str:
    kind = _text(kind)
    if kind not in ORGANISATION_KINDS:
        raise InvalidInput(_l("Choose a kind of organisation."), field="kind")
    return kind


def _place(session: Session, kind: str, county_code: str | None, municipality_code: str | None) -> dict:
    """An organisation's county and municipality codes, checked against each other and its kind (only the
    kinds of MUNICIPALITY_KINDS have a municipality)."""
    county, code = _text(county_code) or None, _text(municipality_code) or None
    if code is not None:
        municipality = session.get(Municipality, code)
        if municipality is None:
            raise InvalidInput(_l("Unknown municipality code."), field="municipality_code")
        if county is not None and county != municipality.county_code:
            raise InvalidInput(_l("The municipality is not in that county."), field="county_code")
        county = municipality.county_code
    if county is not None and session.get(County, county) is None:
        raise InvalidInput(_l("Unknown county code."), field="county_code")
    if code is not None and kind in ORGANISATION_KINDS and kind not in MUNICIPALITY_KINDS:
        raise InvalidInput(
            _l("A region or another agency belongs to no municipality: leave Municipality empty."),
            field="municipality_code",
        )
    if kind == "region" and county is None:
        raise InvalidInput(_l("A region needs its county."), field="county_code")
    if kind == "municipality" and code is None:
        raise InvalidInput(_l("A municipality needs its municipality code."), field="municipality_code")
    return {"county_code": county, "municipality_code": code}


def clean_unit(
    session: Session,
    *,
    name: str | None,
    kind: str | None,
    is_health_care: bool,
    email: str | None,
    hsa_id: str | None,
    unit_id: int | None = None,
    organisation_id: int | None = None,
    released: Collection[int] = (),
    hsa_released: Collection[int] = (),
    read: DirectoryRead | None = None,
) -> dict:
    """Check a unit's fields (every refusal at once); an HSA-id another unit holds is refused, and so is
    a name another active unit of organisation_id has (pickers could not tell the two apart), but for the
    units of released: the same change renames them (an import's file), so their present names are free;
    and of hsa_released: the same change gives them another HSA-id (or none), so theirs are free. read: the
    directory read for many lines at once."""
    name, kind, email, hsa_id = every_refusal(
        (
            lambda: _free_unit_name(session, name, organisation_id, unit_id, released, read),
            lambda: _unit_kind(kind),
            lambda: clean_email(email),
            lambda: _free_hsa_id(session, hsa_id, unit_id, hsa_released, read),
        )
    )
    return {
        "name": name,
        "kind": kind,
        "is_health_care": bool(is_health_care),
        "email": email,
        "hsa_id": hsa_id,
    }


def _unit_kind(kind: str | None) -> str:
    kind = _text(kind)
    if kind not in UNIT_KINDS:
        raise InvalidInput(_l("Choose a kind of unit."), field="kind")
    return kind


def _free_hsa_id(
    session: Session,
    value: str | None,
    unit_id: int | None,
    released: Collection[int] = (),
    read: DirectoryRead | None = None,
) -> str | None:
    hsa_id = clean_hsa_id(value)
    if hsa_id is not None:
        if read is not None and hsa_id in read.hsa_ids_read:
            holder = read.hsa_holders.get(hsa_id)
        else:
            holder = session.exec(select(Unit.id).where(Unit.hsa_id == hsa_id)).first()
        if holder is not None and holder != unit_id and holder not in released:
            raise InvalidInput(_l("Another unit has this HSA-id."), field="hsa_id")
    return hsa_id


def unit_name_key(name: str) -> str:
    """What two unit names are compared by: a name differing only in case or spacing is the same name."""
    return " ".join(name.split()).casefold()


def _free_unit_name(
    session: Session,
    value: str | None,
    organisation_id: int | None,
    unit_id: int | None,
    released: Collection[int] = (),
    read: DirectoryRead | None = None,
) -> str:
    """A clean unit name no other active unit of the organisation has (None: an organisation not yet made),
    the units of released left out (their names are changing too)."""
    name = clean_name(value)
    if organisation_id is None:
        return name
    # Compared here, not in SQL: SQLite folds ASCII case only ("Ö", "ö"); an organisation has few units.
    # The released are left out here too: in the SQL, a file closing or renaming thousands of units sent
    # every one of their ids with each of its other lines.
    if read is not None and organisation_id in read.unit_names:
        others = read.unit_names[organisation_id]
    else:
        others = session.exec(
            select(Unit.id, Unit.name).where(
                Unit.organisation_id == organisation_id, Unit.active, Unit.id != (unit_id or 0)
            )
        ).all()
    taken = {
        unit_name_key(other)
        for other_id, other in others
        if other_id not in released and (other_id is None or other_id != unit_id)
    }
    if unit_name_key(name) in taken:
        raise InvalidInput(_l("Another unit of this organisation has this name."), field="name")
    return name


def _free_key(
    session: Session, model, value: str | None, taken_message, taken: set[str] | None = None
) -> str:
    """A clean key no other row of model (Organisation or Unit) has; taken: the keys of model among those
    asked, read at once (_taken_keys), else asked here."""
    key = clean_key(value)
    if taken is not None:
        if key in taken:
            raise InvalidInput(taken_message, field="key")
    elif session.exec(select(model.id).where(model.key == key)).first() is not None:
        raise InvalidInput(taken_message, field="key")
    return key


def _taken_keys(session: Session, model, values: Iterable[str | None]) -> set[str]:
    """The keys among values (as typed; those no key left out) that a row of model holds: one statement."""
    keys = set()
    for value in values:
        try:
            keys.add(clean_key(value))
        except InvalidInput:
            continue
    if not keys:
        return set()
    return set(session.exec(select(model.key).where(col(model.key).in_(keys))).all())


def check_active(row: Organisation | Unit, field: str) -> None:
    """Refuse (InvalidInput at field) placing something new under a deactivated organisation or unit: a unit
    of the organisation, a user of the unit. The one rule of the pages, the command line and the import;
    what is already there stays (a user keeps a unit deactivated since, an import line that changes nothing
    passes)."""
    if row.active:
        return
    if isinstance(row, Organisation):
        message = _l("The organisation %(key)s is deactivated: activate it first.", key=row.key)
    else:
        message = _l("The unit %(key)s is deactivated: activate it first.", key=row.key)
    raise InvalidInput(message, field=field)


def _log(session: Session, actor: User | None, action: str, row, *, now: datetime, before=None) -> None:
    """Log action on an organisation or unit (its fields before and after) in the caller's unit of work."""
    record_change(session, **_change(actor, action, row, now=now, before=before))


def _change(actor: User | None, action: str, row, *, now: datetime, before=None) -> dict:
    """The log entry (record_change's arguments) of action on an organisation or unit, as it is now."""
    return {
        "actor_user_id": actor.id if actor is not None else None,
        "action": action,
        "target_kind": "organisation" if isinstance(row, Organisation) else "unit",
        "target_id": row.id,
        "now": now,
        "before": before,
        "after": snapshot(row),
    }


def _apply(session: Session, row, values: dict, expected: int | None) -> bool:
    """Set row's values, claiming its row_version (at a form's expected one); False if none differ."""
    changed = {name: value for name, value in values.items() if getattr(row, name) != value}
    if not changed:
        return False
    claim_row_version(session, row, expected, stale=stale_form())
    for name, value in changed.items():
        setattr(row, name, value)
    return True


def _edit(
    session: Session,
    actor: User | None,
    row: Organisation | Unit,
    values: dict,
    expected: int | None,
    action: str,
    *,
    now: datetime,
) -> bool:
    """Save an organisation's or a unit's cleaned values, logged as action with what it was; False if none
    differ."""
    before = snapshot(row)
    if not _apply(session, row, values, expected):
        return False
    session.add(row)
    _log(session, actor, action, row, before=before, now=now)
    return True


def _set_active(
    session: Session,
    actor: User | None,
    row: Organisation | Unit,
    active: bool,
    action: str,
    *,
    now: datetime,
) -> bool:
    """Activate or deactivate an organisation or a unit, logged as action with what it was; False if it
    already was."""
    if row.active == active:
        return False
    before = snapshot(row)
    row.active = active
    bump_row_version(row)
    session.add(row)
    _log(session, actor, action, row, before=before, now=now)
    return True


# --- Organisations -----------------------------------------------------------------------------------------


def create_organisation(
    session: Session,
    actor: User | None,
    *,
    key: str | None,
    name: str | None,
    kind: str | None,
    county_code: str | None = None,
    municipality_code: str | None = None,
    now: datetime,
    released: Collection[int] = (),
) -> Organisation:
    """Create an organisation under a key no other organisation has, in the actor's region; logged as
    organisation.create. released: organisations the same change renames (clean_organisation)."""
    new = NewOrganisation(
        key=key, name=name, kind=kind, county_code=county_code, municipality_code=municipality_code
    )
    try:
        return create_organisations(session, actor, [new], now=now, released=released)[0]
    except Refused as refused:
        raise refused.error from None


class Refused(Exception):
    """A line of create_organisations or create_units refused: its position and the refusal (a UserError)."""

    def __init__(self, position: int, error: UserError):
        super().__init__(str(error))
        self.position = position
        self.error = error


@dataclass
class NewOrganisation:
    """An organisation to create, as typed (create_organisations)."""

    key: str | None
    name: str | None
    kind: str | None
    county_code: str | None = None
    municipality_code: str | None = None


def create_organisations(
    session: Session,
    actor: User | None,
    new: list[NewOrganisation],
    *,
    now: datetime,
    released: Collection[int] = (),
) -> list[Organisation]:
    """create_organisation of each of new (an import's file of hundreds), as if one after another: checked
    all at once in a statement per kind (keys, names, places), written in one INSERT and logged in
    another. Refused names the first refused (by its position in new); the caller's unit of work is then
    rolled back. The organisations, in new's order."""
    region = admin_region(session, actor)
    taken = _taken_keys(session, Organisation, [item.key for item in new])
    read = read_directory(
        session,
        organisations=True,
        place_codes=[code for item in new for code in (item.county_code, item.municipality_code)],
    )
    rows = []
    for position, item in enumerate(new):
        try:
            key, values = every_refusal(
                (
                    lambda item=item: _free_key(
                        session, Organisation, item.key, _l("Another organisation has this key."), taken
                    ),
                    lambda item=item: clean_organisation(
                        session,
                        name=item.name,
                        kind=item.kind,
                        county_code=item.county_code,
                        municipality_code=item.municipality_code,
                        released=released,
                        read=read,
                    ),
                )
            )
            check_organisation_change(
                region, None, county_code=values["county_code"], municipality_code=values["municipality_code"]
            )
        except UserError as error:
            raise Refused(position, error) from None
        # The next lines find this one's key and name taken, as they would once it was created.
        taken.add(key)
        read.organisation_names.append((None, key, values["name"]))
        rows.append(Organisation(key=key, active=True, **values))
    return _insert_logged(
        session, actor, rows, "organisation.create", now=now, refuse=_refuse_taken_organisation
    )


def _refuse_taken_organisation(session: Session, row: Organisation) -> UserError:
    return InvalidInput(_l("Another organisation has this key."), field="key")


def _insert_logged(
    session: Session, actor: User | None, rows: list, action: str, *, now: datetime, refuse
) -> list:
    """rows (checked, of one table) in one INSERT, each logged as action in another; in rows' order. A row
    a request that committed after the checks created first (a double submit) is Refused by its position,
    with refuse(session, row)'s reason."""
    inserted = {row.key: row for row in add_all_unless_taken(session, rows)}
    for position, row in enumerate(rows):
        if row.key not in inserted:
            raise Refused(position, refuse(session, row))
    created = [inserted[row.key] for row in rows]
    record_changes(session, [_change(actor, action, row, now=now) for row in created])
    return created


def edit_organisation(
    session: Session,
    actor: User | None,
    organisation: Organisation,
    *,
    name: str | None,
    kind: str | None,
    county_code: str | None = None,
    municipality_code: str | None = None,
    now: datetime,
    expected_version: int | None = None,
    released: Collection[int] = (),
) -> bool:
    """Change an organisation's name, kind, county and municipality (never its key), kept in the actor's
    region; True if changed.

    expected_version: the row_version the edit form was read at; one changed since raises StaleForm.
    released: organisations the same change renames (clean_organisation).
    """
    region = admin_region(session, actor)
    check_organisation_change(region, organisation, county_code=organisation.county_code)
    check_form_version(organisation, expected_version)
    values = clean_organisation(
        session,
        name=name,
        kind=kind,
        county_code=county_code,
        municipality_code=municipality_code,
        organisation=organisation,
        released=released,
    )
    check_organisation_change(
        region,
        organisation,
        county_code=values["county_code"],
        municipality_code=values["municipality_code"],
    )
    return _edit(session, actor, organisation, values, expected_version, "organisation.edit", now=now)


def set_organisation_active(
    session: Session, actor: User | None, organisation: Organisation, active: bool, *, now: datetime
) -> bool:
    """Activate or deactivate an organisation of the actor's region; deactivating deactivates its units too.
    True if changed."""
    check_organisation_change(
        admin_region(session, actor), organisation, county_code=organisation.county_code
    )
    action = "organisation.activate" if active else "organisation.deactivate"
    if not _set_active(session, actor, organisation, active, action, now=now):
        return False
    if not active:
        # Its units join no new SIP either; reactivating the organisation leaves them to be chosen one by one.
        units = session.exec(select(Unit).where(Unit.organisation_id == organisation.id, Unit.active)).all()
        _set_units_active(session, actor, units, False, now=now)
    return True


# --- Units -------------------------------------------------------------------------------------------------


def create_unit(
    session: Session,
    actor: User | None,
    organisation: Organisation,
    *,
    key: str | None,
    name: str | None,
    kind: str | None,
    is_health_care: bool = False,
    email: str | None = None,
    hsa_id: str | None = None,
    now: datetime,
    released: Collection[int] = (),
) -> Unit:
    """Create a unit of an active organisation of the actor's region under a key no other unit has; logged
    as unit.create. released: units the same change renames (clean_unit)."""
    new = NewUnit(
        organisation=organisation,
        key=key,
        name=name,
        kind=kind,
        is_health_care=is_health_care,
        email=email,
        hsa_id=hsa_id,
    )
    try:
        return create_units(session, actor, [new], now=now, released=released)[0]
    except Refused as refused:
        raise refused.error from None


@dataclass
class NewUnit:
    """A unit to create, as typed, and its organisation (create_units)."""

    organisation: Organisation
    key: str | None
    name: str | None
    kind: str | None
    is_health_care: bool = False
    email: str | None = None
    hsa_id: str | None = None


def create_units(
    session: Session,
    actor: User | None,
    new: list[NewUnit],
    *,
    now: datetime,
    released: Collection[int] = (),
) -> list[Unit]:
    """create_unit of each of new (a national directory's file of thousands), as if one after another:
    checked all at once in a statement per kind (keys, the organisations' unit names, HSA-ids), written in
    one INSERT and logged in another. Refused names the first refused (by its position in new); the
    caller's unit of work is then rolled back. The units, in new's order."""
    region = admin_region(session, actor)
    taken = _taken_keys(session, Unit, [item.key for item in new])
    read = read_directory(
        session,
        hsa_ids=[item.hsa_id for item in new],
        organisation_ids={item.organisation.id for item in new},
    )
    rows = []
    for position, item in enumerate(new):
        try:
            check_unit_change(region, item.organisation)
            check_active(item.organisation, "organisation_id")
            key, values = every_refusal(
                (
                    lambda item=item: _free_key(
                        session, Unit, item.key, _l("Another unit has this key."), taken
                    ),
                    lambda item=item: clean_unit(
                        session,
                        name=item.name,
                        kind=item.kind,
                        is_health_care=item.is_health_care,
                        email=item.email,
                        hsa_id=item.hsa_id,
                        organisation_id=item.organisation.id,
                        released=released,
                        read=read,
                    ),
                )
            )
        except UserError as error:
            raise Refused(position, error) from None
        # The next lines find this one's key, name and HSA-id taken, as they would once it was created.
        taken.add(key)
        read.unit_names[item.organisation.id].append((None, values["name"]))
        if values["hsa_id"] is not None:
            read.hsa_holders[values["hsa_id"]] = 0
        rows.append(Unit(key=key, organisation_id=item.organisation.id, active=True, **values))
    return _insert_logged(session, actor, rows, "unit.create", now=now, refuse=_refuse_taken_unit)


def _refuse_taken_unit(session: Session, row: Unit) -> UserError:
    # A key or HSA-id taken since the checks: the HSA-id's refusal when it is that.
    try:
        _free_hsa_id(session, row.hsa_id, None)
    except InvalidInput as error:
        return error
    return InvalidInput(_l("Another unit has this key."), field="key")


def edit_unit(
    session: Session,
    actor: User | None,
    unit: Unit,
    *,
    name: str | None,
    kind: str | None,
    is_health_care: bool,
    email: str | None,
    hsa_id: str | None,
    now: datetime,
    expected_version: int | None = None,
    released: Collection[int] = (),
) -> bool:
    """Change a unit's name, kind, health care, mailbox and HSA-id (never its key or organisation), a unit of
    the actor's region.

    expected_version: the row_version the edit form was read at; one changed since raises StaleForm.
    released: units the same change renames (clean_unit).
    """
    check_unit_change(admin_region(session, actor), session.get(Organisation, unit.organisation_id))
    check_form_version(unit, expected_version)
    values = clean_unit(
        session,
        name=name,
        kind=kind,
        is_health_care=is_health_care,
        email=email,
        hsa_id=hsa_id,
        unit_id=unit.id,
        organisation_id=unit.organisation_id,
        released=released,
    )
    mailbox = unit.email
    if not _edit(session, actor, unit, values, expected_version, "unit.edit", now=now):
        return False
    if unit.email != mailbox:
        _follow_units(session, [unit.id], now=now)
    return True


def edit_units(
    session: Session,
    actor: User | None,
    edits: list[tuple[Unit, dict]],
    *,
    now: datetime,
    released: Collection[int] = (),
) -> list[Unit]:
    """edit_unit of each unit with its values (edit_unit's name, kind, is_health_care, email and hsa_id; no
    form's version), as if one after another (a month's file renaming thousands): checked with one
    read_directory, logged in one INSERT, and the SIPs reaching the units whose mailbox changed followed
    once for all of them. Refused names the first refused (by its position in edits); the caller's unit of
    work is then rolled back. The units changed."""
    region = admin_region(session, actor)
    organisation_ids = {unit.organisation_id for unit, _ in edits}
    # Held so the session's get finds each unit's organisation without a statement of its own.
    organisations = (
        session.exec(select(Organisation).where(col(Organisation.id).in_(organisation_ids))).all()
        if organisation_ids
        else []
    )
    read = read_directory(
        session, hsa_ids=[typed.get("hsa_id") for _, typed in edits], organisation_ids=organisation_ids
    )
    changed, logged, mailboxes, rows = [], [], [], []
    for position, (unit, typed) in enumerate(edits):
        try:
            check_unit_change(region, session.get(Organisation, unit.organisation_id))
            values = clean_unit(
                session,
                **typed,
                unit_id=unit.id,
                organisation_id=unit.organisation_id,
                released=released,
                read=read,
            )
        except UserError as error:
            raise Refused(position, error) from None
        if all(getattr(unit, name) == value for name, value in values.items()):
            continue
        logged.append((unit, snapshot(unit)))
        rows.append({"unit_id": unit.id, **values})
    del organisations
    if not rows:
        return []
    # One UPDATE for all of them, row_version counted up as bump_row_version does (each unit's values, the
    # unchanged ones too, as the check gave them).
    table = Unit.__table__
    session.flush()
    names = [name for name in rows[0] if name != "unit_id"]
    session.connection().execute(
        update(table)
        .where(table.c.id == bindparam("unit_id"))
        .values(
            {**{name: bindparam(f"new_{name}") for name in names}, "row_version": table.c.row_version + 1}
        ),
        [{"unit_id": row["unit_id"], **{f"new_{name}": row[name] for name in names}} for row in rows],
    )
    for (unit, before), values in zip(logged, rows, strict=True):
        for name, value in values.items():
            if name != "unit_id":
                set_committed_value(unit, name, value)
        session.expire(unit, ["row_version"])
        changed.append(unit)
        if unit.email != before["email"]:
            mailboxes.append(unit.id)
    record_changes(
        session, [_change(actor, "unit.edit", unit, now=now, before=before) for unit, before in logged]
    )
    if mailboxes:
        _follow_units(session, mailboxes, now=now)
    return changed


def set_unit_active(session: Session, actor: User | None, unit: Unit, active: bool, *, now: datetime) -> bool:
    """Activate or deactivate a unit of the actor's region (not one of a deactivated organisation). True if
    changed."""
    try:
        return bool(set_units_active(session, actor, [unit], active, now=now))
    except UnitRefused as refused:
        raise refused.error from None


class UnitRefused(Exception):
    """A unit of set_units_active refused: the unit and the refusal (a UserError)."""

    def __init__(self, unit: Unit, error: UserError):
        super().__init__(str(error))
        self.unit = unit
        self.error = error


def set_units_active(
    session: Session, actor: User | None, units: Collection[Unit], active: bool, *, now: datetime
) -> list[Unit]:
    """Activate or deactivate units of the actor's region (none of a deactivated organisation) together, as
    set_unit_active each (an import's file closing thousands); UnitRefused names the first unit refused, and
    nothing is changed. The units changed."""
    region = admin_region(session, actor)
    for unit in units:
        try:
            organisation = session.get(Organisation, unit.organisation_id)
            check_unit_change(region, organisation)
            if active and not organisation.active:
                raise InvalidInput(_l("Activate the unit's organisation first."))
            if active and not unit.active:
                _free_unit_name(session, unit.name, unit.organisation_id, unit.id)
        except UserError as error:
            raise UnitRefused(unit, error) from None
    return _set_units_active(session, actor, units, active, now=now)


def _set_units_active(
    session: Session, actor: User | None, units: Collection[Unit], active: bool, *, now: datetime
) -> list[Unit]:
    """Set the units' active flag in one UPDATE for all of them (row_version counted up, as bump_row_version
    does), each logged with what it was in one INSERT; the units changed. A deactivated unit's mailbox is no
    longer written to (an activated one's is again): the SIPs that reach the units there follow, their
    invitations and their reminders to the units at their addresses, all the units' together."""
    changed = list({unit.id: unit for unit in units if unit.active != active}.values())
    if not changed:
        return []
    befores = [snapshot(unit) for unit in changed]
    ids = [unit.id for unit in changed]
    session.flush()
    session.execute(
        update(Unit).where(col(Unit.id).in_(ids)).values(active=active, row_version=Unit.row_version + 1),
        execution_options={"synchronize_session": False},
    )
    action = "unit.activate" if active else "unit.deactivate"
    for unit in changed:
        set_committed_value(unit, "active", active)
        session.expire(unit, ["row_version"])
    record_changes(
        session,
        [
            _change(actor, action, unit, now=now, before=before)
            for unit, before in zip(changed, befores, strict=True)
        ],
    )
    _follow_units(session, ids, now=now)
    return changed


def _follow_units(session: Session, unit_ids: list[int], *, now: datetime) -> None:
    """The SIPs that reach the units at their mailboxes follow a changed mailbox, or units deactivated (their
    mailboxes no longer written to) or activated: their invitations to meetings ahead and their reminders to
    the units at their addresses, all the units' together.

    Every SIP either moves is held first, all in the order of their ids (cases.services.lock_cases), in one
    statement however many units: held as each kind came, an organisation's second unit could hold a lower
    SIP after its first held a higher one, while another administrator's change held the lower and waited
    for the higher, and PostgreSQL failed one of the two changes (deadlock detected). Every running SIP the
    units take part in is held too: a kallelse under way there, having read the mailbox before the change,
    is waited for and then moved (else committed after the moves to a mailbox changed or taken away), and
    one that comes later waits at its claim and reads the mailbox as changed.
    """
    registry = current_app.extensions["sipflow.workflows"]
    lock_cases(
        session,
        cases_reached_through(session, now=now, unit_ids=unit_ids)
        | set(unit_mailbox_cases(session, unit_ids))
        | set(running_cases_of_units(session, registry, unit_ids)),
    )
    follow_directory_change(session, unit_ids=unit_ids, now=now)
    follow_unit_mailbox(session, unit_ids)


# --- Lists -------------------------------------------------------------------------------------------------


def organisations_page(
    session: Session, *, after_id: int | None = None, before_id: int | None = None, page: int = 1
) -> KeysetPage:
    """Organisations by name, PAGE_SIZE from after the one with after_id, or the page before before_id."""

    def read(cursor_id: int | None, backwards: bool, count: int) -> list:
        return _by_name(session, select(Organisation), Organisation, cursor_id, backwards, count)

    return keyset_page(
        read, after=after_id, before=before_id, page=page, limit=PAGE_SIZE, key=lambda row: row.id
    )


def units_page(
    session: Session,
    *,
    after_id: int | None = None,
    before_id: int | None = None,
    page: int = 1,
    organisation_id: int | None = None,
) -> KeysetPage:
    """Units by name with their organisation, PAGE_SIZE after after_id or the page before before_id; of one
    organisation if given."""
    query = units_query(organisation_id)

    def read(cursor_id: int | None, backwards: bool, count: int) -> list:
        return _by_name(session, query, Unit, cursor_id, backwards, count)

    return keyset_page(
        read, after=after_id, before=before_id, page=page, limit=PAGE_SIZE, key=lambda row: row[0].id
    )


def units_query(organisation_id: int | None = None):
    """The units with their organisation (of one organisation if given), in no order yet."""
    query = select(Unit, Organisation).join(Organisation, Organisation.id == Unit.organisation_id)
    if organisation_id is not None:
        query = query.where(Unit.organisation_id == organisation_id)
    return query


def _by_name(session: Session, query, model, cursor_id: int | None, backwards: bool, count: int) -> list:
    """count rows of query by (name, id) past the row of model with cursor_id (backwards: before it, nearest
    first); none when that row is gone."""
    cursor = session.get(model, cursor_id) if cursor_id is not None else None
    if cursor_id is not None and cursor is None:
        return []
    return list(session.exec(by_name_query(query, model, cursor, backwards=backwards, count=count)).all())


def by_name_query(query, model, cursor, *, backwards: bool, count: int):
    """query (of organisations or units, model) ordered by (name, id) from past the row cursor (None: the
    start), backwards nearest first: a walk of ix_organisation_name_id or ix_unit_name_id either way."""
    if backwards:
        query = query.order_by(model.name.desc(), model.id.desc())
    else:
        query = query.order_by(model.name, model.id)
    if cursor is not None:
        key, at = tuple_(model.name, model.id), tuple_(cursor.name, cursor.id)
        query = query.where(key < at if backwards else key > at)
    return query.limit(count)


def organisation_choices(session: Session, actor: User | None) -> list[tuple[int, str]]:
    """The active organisations of actor's region a new unit may belong to, by name (CHOICES_MAX at most),
    each labelled apart from another of the same name as the unit pickers label them."""
    statement = select(Organisation.id, *LABEL_COLUMNS).where(Organisation.active)
    where = region_filter(admin_region(session, actor))
    if where is not None:
        statement = statement.where(where)
    rows = session.exec(statement.order_by(Organisation.name, Organisation.id).limit(CHOICES_MAX)).all()
    labels = organisation_labels(session, {row[0]: tuple(row[1:]) for row in rows})
    return [(row[0], labels[row[0]]) for row in rows]
