"""Users: invitation, changes, roles, coordinator scopes, reset links, and the region an administrator has.

**The region boundary** (`sipflow.admin.regions`): a region's administrator sees and manages only the
users whose unit belongs to an organisation of the region; a national administrator (no unit) manages every
user, users without a unit included, and only they do. A user outside the region is answered as if they
did not exist (404). A coordinator a region's administrator makes follows some of the county, never all.

Every change is written to the administration log (`record_change`) in the caller's unit of work.
"""

from __future__ import annotations

import email.policy
import re
from dataclasses import dataclass
from datetime import datetime
from email import quoprimime
from email.message import EmailMessage

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import func
from sqlmodel import Session, col, delete, select

from sipflow.admin.changes import check_form_version, record_change, stale_form
from sipflow.admin.directory import EMAIL_EXAMPLE, check_active, clean_email
from sipflow.admin.models import CoordinatorScope
from sipflow.admin.regions import (
    CHOOSE_YOUR_COUNTY,
    Region,
    admin_region,
    region_filter,
    unit_in_region,
)
from sipflow.cases.fields import one_line
from sipflow.cases.services import release_contact_person
from sipflow.db import bump_row_version, claim_row_version, insert_unless_taken
from sipflow.errors import Conflict, InvalidInput, NotAllowed, Refusals
from sipflow.i18n import DEFAULT_LOCALE, checked_language, language_or_default
from sipflow.lengths import fits, too_long
from sipflow.meetings.services import follow_directory_change
from sipflow.notifications.models import OutboxMessage
from sipflow.notifications.outbox import Outgoing, enqueue_all, sender
from sipflow.people.labels import label_facts, organisation_labels, unit_label
from sipflow.people.models import USER_ROLES, County, Municipality, Organisation, Unit, User
from sipflow.security import renew_session_token
from sipflow.security.password_links import (
    INVITE,
    LIFETIME_KEYS,
    RESET,
    PasswordLink,
    end_unused_links,
    has_chosen_password,
    issue_link,
    issue_links,
    unusable_password_hash,
)
from sipflow.translated import REQUIRED
from sipflow.translated import lazy_gettext as _l
from sipflow.workflow.engine import WorkflowRegistry

ADMIN = "admin"
# The command line's spelling of the admin role.
ROLE_ALIASES = {"administrator": ADMIN}
# How the pages name each of USER_ROLES (the user form's choices, the administration log).
ROLE_LABELS = {"staff": _l("Staff"), "coordinator": _l("Coordinator"), "admin": _l("Administrator")}
# What a coordinator who follows no county or municipality in particular follows (checked_scope).
EVERY_COUNTY = _l("every county")
OUTBOX_KIND = "password"
# The change log's field for the running SIPs a moved user was the contact person of (before: how many).
CONTACT_ON_RUNNING_SIPS = "contact_person_on_sips"
USER_FIELDS = ("username", "display_name", "email", "unit_id", "roles", "active", "language")
_USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{1,63}")
_CODE_SPLIT = re.compile(r"[\s,;]+")
# The unit choice lists at most this many units (a region has a few hundred).
UNITS_LIMIT = 2000
DISPLAY_NAME_MAX = 120


def _snapshot(user: User) -> dict:
    return {name: getattr(user, name) for name in USER_FIELDS}


def can_manage(session: Session, actor: User, user: User) -> bool:
    """Whether actor (an administrator) may see and change user."""
    region = admin_region(session, actor)
    if region.national:
        return True
    if user.unit_id is None:
        return False
    return unit_in_region(session, region, session.get(Unit, user.unit_id))


def manageable_user(session: Session, actor: User, user_id: int) -> User | None:
    """The user user_id when actor manages them; None when there is none, or they are another region's."""
    user = session.get(User, user_id)
    if user is None or not can_manage(session, actor, user):
        return None
    return user


def unit_choices(
    session: Session, actor: User | None, *, kept_unit_id: int | None = None
) -> list[tuple[int, str]]:
    """The active units a user of actor's region can belong to (every region's for None, the command line),
    as (id, "Organisation, Unit"), organisations of the same name labelled apart as every picker does.

    kept_unit_id: the user's present unit, offered even when it has been deactivated since (see
    check_user_unit). By organisation and unit name.
    """
    statement = (
        select(Unit, Organisation)
        .join(Organisation, col(Organisation.id) == Unit.organisation_id)
        .where(col(Unit.active) | (col(Unit.id) == (kept_unit_id or 0)))
    )
    if actor is not None:
        where = region_filter(admin_region(session, actor))
        if where is not None:
            statement = statement.where(where)
    rows = session.exec(statement.order_by(Organisation.name, Unit.name).limit(UNITS_LIMIT)).all()
    labels = organisation_labels(session, {o.id: label_facts(o) for _unit, o in rows if o.id is not None})
    return [(unit.id, unit_label(labels[o.id], unit.name)) for unit, o in rows if unit.id is not None]


def check_user_unit(
    session: Session,
    region: Region,
    unit: Unit | None,
    roles: tuple[str, ...],
    *,
    kept_unit_id: int | None = None,
) -> None:
    """The one rule of a user's unit, for the user pages, the command line and the directory import.

    Staff need a unit; a coordinator or an administrator only may have none, unless the one who makes
    them is a regional administrator (region, of the actor; national for the command line), who places
    every user in a unit of the region. A deactivated unit takes no user; kept_unit_id (a user's present
    unit) is left alone when it was deactivated since. Raises InvalidInput on the field unit_id.
    """
    if unit is None:
        if "staff" in roles:
            raise InvalidInput(_l("Staff must belong to a unit."), field="unit_id")
        if not region.national:
            raise InvalidInput(_l("Choose a unit of your region."), field="unit_id")
        return
    if not unit_in_region(session, region, unit):
        raise InvalidInput(_l("Unknown unit."), field="unit_id")
    if unit.id != kept_unit_id:
        check_active(unit, "unit_id")


def parse_roles(roles) -> tuple[str, ...]:
    """Roles as a sorted tuple of USER_ROLES; `administrator` is read as `admin`. InvalidInput otherwise."""
    names = roles.split(",") if isinstance(roles, str) else list(roles)
    parsed = set()
    for name in names:
        name = ROLE_ALIASES.get(name.strip().lower(), name.strip().lower())
        if not name:
            continue
        if name not in USER_ROLES:
            raise InvalidInput(_l("Unknown role: %(role)s.", role=name), field="roles")
        parsed.add(name)
    if not parsed:
        raise InvalidInput(_l("Choose at least one role."), field="roles")
    return tuple(sorted(parsed, key=USER_ROLES.index))


def parse_scope_codes(text: str) -> tuple[list[str], list[str]]:
    """County codes (2 digits) and municipality codes (4 digits) from text separated by commas or spaces."""
    counties, municipalities = [], []
    for code in _CODE_SPLIT.split(text or ""):
        if not code:
            continue
        if re.fullmatch(r"\d{2}", code):
            counties.append(code)
        elif re.fullmatch(r"\d{4}", code):
            municipalities.append(code)
        else:
            raise InvalidInput(
                _l(
                    "%(code)s is neither a county code (2 digits) nor a municipality code (4 digits).",
                    code=code[:20],
                ),
                field="scope",
            )
    return sorted(set(counties)), sorted(set(municipalities))


def coordinator_scope(session: Session, user: User) -> tuple[frozenset[str], frozenset[str]]:
    """The county codes and municipality codes whose numbers the coordinator user follows.

    The statistics read this: a coordinator sees the numbers of these counties (each with all of its
    municipalities) and of these municipalities. Both sets are empty for a user who follows none.
    """
    rows = session.exec(
        select(CoordinatorScope.county_code, CoordinatorScope.municipality_code).where(
            CoordinatorScope.user_id == user.id
        )
    ).all()
    return (
        frozenset(county for county, _m in rows if county),
        frozenset(municipality for _c, municipality in rows if municipality),
    )


def _kept_scope(session: Session, user: User) -> tuple[list[str], list[str]] | None:
    """A coordinator's counties and municipalities as they are (None: the user is no coordinator)."""
    if "coordinator" not in user.role_set:
        return None
    counties, municipalities = coordinator_scope(session, user)
    return list(counties), list(municipalities)


def _scope_text(session: Session, user: User) -> str:
    counties, municipalities = coordinator_scope(session, user)
    return ", ".join(sorted(counties) + sorted(municipalities))


def checked_scope(
    session: Session,
    region: Region,
    roles: tuple[str, ...],
    scope: str,
    *,
    kept: tuple[list[str], list[str]] | None = None,
) -> tuple[list[str], list[str]]:
    """The county and municipality codes of scope, refused (field scope) unless a coordinator's, known and,
    for a county's administrator, in the county and not empty (none: every county): the user pages' and the
    import's one rule.

    An administrator of an organisation with no county makes no coordinator: a coordinator's numbers reach
    beyond their organisation. kept: the scope of a user who is a coordinator already, which they may keep
    unchanged (None: the user is new or no coordinator).
    """
    counties, municipalities = parse_scope_codes(scope)
    if not makes_coordinators(region) and "coordinator" in roles:
        if kept is None or (sorted(kept[0]), sorted(kept[1])) != (sorted(counties), sorted(municipalities)):
            raise InvalidInput(NO_COUNTY_NO_COORDINATOR, field="scope" if kept is not None else "roles")
    if (counties or municipalities) and "coordinator" not in roles:
        raise InvalidInput(_l("Only a coordinator follows counties or municipalities."), field="scope")
    known_counties = set(session.exec(select(County.code).where(col(County.code).in_(counties))).all())
    known = dict(
        session.exec(
            select(Municipality.code, Municipality.county_code).where(
                col(Municipality.code).in_(municipalities)
            )
        ).all()
    )
    for code in counties:
        if code not in known_counties:
            raise InvalidInput(_l("Unknown county code: %(code)s.", code=code), field="scope")
    for code in municipalities:
        if code not in known:
            raise InvalidInput(_l("Unknown municipality code: %(code)s.", code=code), field="scope")
    if region.county_code is not None:
        if "coordinator" in roles and not (counties or municipalities):
            # No code means every county's numbers: more than the region's administrator may give.
            raise InvalidInput(CHOOSE_YOUR_COUNTY, field="scope")
        outside = [c for c in counties if c != region.county_code]
        outside += [m for m in municipalities if known[m] != region.county_code]
        if outside:
            raise InvalidInput(_l("%(code)s is outside your region.", code=outside[0]), field="scope")
    return counties, municipalities


NO_COUNTY_NO_COORDINATOR = _l(
    "Your organisation has no county: only a county's or a national administrator makes a user a "
    "coordinator or changes what they follow."
)


def makes_coordinators(region) -> bool:
    """Whether region's administrator makes coordinators: a county's or a national one, not an agency's."""
    return region.national or region.county_code is not None


def role_choices(session: Session, actor: User | None, user: User | None = None) -> list[tuple[str, object]]:
    """The roles the user form offers: every role, but a coordinator only where checked_scope would give
    one, or to a user who is one already (whose scope an agency's administrator may keep unchanged)."""
    offered = makes_coordinators(admin_region(session, actor)) or (
        user is not None and "coordinator" in user.role_set
    )
    return [(role, label) for role, label in ROLE_LABELS.items() if offered or role != "coordinator"]


# The scope field's help by the administrator's region (scope_help): what checked_scope lets each give.
SCOPE_HELP_NATIONAL = _l(
    "For a coordinator: county codes (07) and municipality codes (0780), separated by commas. Left"
    " empty, the coordinator follows every county (the whole country's statistics)."
)
SCOPE_HELP_COUNTY = _l(
    "For a coordinator: your county's code or codes of its municipalities, separated by commas; at least one."
)


def scope_help(session: Session, actor: User | None):
    """The help beside a user's counties and municipalities followed, by what checked_scope lets actor's
    region give: every county (empty) for a national administrator, their own county's codes for a
    county's, and no coordinator at all for an administrator of an organisation with no county."""
    region = admin_region(session, actor)
    if region.national:
        return SCOPE_HELP_NATIONAL
    if region.county_code is not None:
        return SCOPE_HELP_COUNTY
    return NO_COUNTY_NO_COORDINATOR


def _write_scope(session: Session, user: User, counties: list[str], municipalities: list[str]) -> None:
    """Replace the counties and municipalities a coordinator follows (checked by checked_scope)."""
    session.exec(delete(CoordinatorScope).where(col(CoordinatorScope.user_id) == user.id))
    for code in counties:
        session.add(CoordinatorScope(user_id=user.id, county_code=code))
    for code in municipalities:
        session.add(CoordinatorScope(user_id=user.id, municipality_code=code))


def clean_display_name(value: str, field: str) -> str:
    """A user's name as stored: filled in, one line, 120 characters at most (refused at field)."""
    value = (value or "").strip()
    if not value:
        raise InvalidInput(REQUIRED, field=field)
    if not fits(value, DISPLAY_NAME_MAX):
        raise InvalidInput(too_long(DISPLAY_NAME_MAX), field=field)
    return one_line(value, field)


def clean_user_email(value: str) -> str:
    """A user's e-mail address as stored, refused (field email) unless it reads as one (the directory's rule
    and words, a unit's mailbox's too); may be taken."""
    email = clean_email(value)
    if email is None:
        raise InvalidInput(EMAIL_EXAMPLE, field="email")
    return email


def _clean_email(session: Session, value: str, *, user_id: int | None) -> str:
    value = clean_user_email(value)
    # Case-insensitive: two accounts with one mailbox would receive each other's set-password links.
    taken = session.exec(
        select(User.id).where(func.lower(User.email) == value.lower(), col(User.id) != (user_id or 0))
    ).first()
    if taken is not None:
        raise Conflict(_l("Another user already has this e-mail address."), field="email")
    return value


def clean_username(value: str) -> str:
    """A username as stored, refused (field username) unless 2 to 64 of its characters; may be taken."""
    value = (value or "").strip()
    if not _USERNAME.fullmatch(value):
        raise InvalidInput(
            _l("A username has 2 to 64 letters a–z, digits, dots, hyphens or underscores."), field="username"
        )
    return value


def _taken(session: Session, column, values: set[str]) -> set[str]:
    """Which of values (lower case) a user holds in column, compared case-insensitively: one read."""
    if not values:
        return set()
    return set(session.exec(select(func.lower(column)).where(func.lower(column).in_(values))).all())


def _check_unit(
    session: Session,
    actor: User | None,
    unit_id: int | None,
    roles: tuple[str, ...],
    *,
    kept_unit_id: int | None = None,
) -> int | None:
    region = admin_region(session, actor)
    unit = None
    if unit_id is not None:
        unit = session.get(Unit, unit_id) if 0 < unit_id < 2**31 else None
        if unit is None:
            raise InvalidInput(_l("Unknown unit."), field="unit_id")
    check_user_unit(session, region, unit, roles, kept_unit_id=kept_unit_id)
    return unit.id if unit is not None else None


def _log(session: Session, actor: User | None, action: str, user: User, *, now: datetime, **change) -> None:
    """Log action on a user account (change: its before and after) in the caller's unit of work."""
    record_change(
        session,
        actor_user_id=actor.id if actor is not None else None,
        action=action,
        target_kind="user",
        target_id=user.id,
        now=now,
        **change,
    )


@dataclass(frozen=True)
class NewUser:
    """One account to create: what the user page, the command line or an import line gives."""

    username: str
    display_name: str
    email: str | None
    unit_id: int | None
    roles: object  # a comma-separated string or a sequence of USER_ROLES
    coordinator_scope: object = ()  # codes: a sequence, or one string separated by commas or spaces
    language: str = DEFAULT_LOCALE
    password_hash: str | None = None


class BatchRefused(Exception):
    """An account of a batch refused: its position in the batch and the refusal (InvalidInput/Conflict)."""

    def __init__(self, position: int, error: InvalidInput):
        super().__init__(str(error))
        self.position = position
        self.error = error


def _create_all(
    session: Session,
    *,
    actor: User | None,
    new: list[NewUser],
    now: datetime,
    email_required: bool = False,
) -> list[User]:
    """Create the accounts, each checked by the user pages' rules, in a fixed number of statements.

    An import creates thousands: the taken usernames and addresses are read once for all of them, the
    scope codes once per distinct scope, and the rows written in one INSERT. Raises BatchRefused.
    """
    region = admin_region(session, actor)
    usernames = {(item.username or "").strip().lower() for item in new}
    taken_usernames = _taken(session, User.username, usernames)
    taken_emails = _taken(
        session, User.email, {(item.email or "").strip().lower() for item in new if item.email}
    )
    unit_ids = {item.unit_id for item in new if item.unit_id is not None and 0 < item.unit_id < 2**31}
    units = {unit.id: unit for unit in session.exec(select(Unit).where(col(Unit.id).in_(unit_ids))).all()}
    scopes: dict[tuple, tuple[list[str], list[str]]] = {}
    rows, checked = [], []

    def free_username(value: str) -> str:
        username = clean_username(value)
        if username.lower() in taken_usernames:
            raise Conflict(_l("This username is taken."), field="username")
        return username

    def free_email(value: str | None) -> str | None:
        if not (value or "").strip():
            if email_required:
                raise InvalidInput(_l("An invited user needs an e-mail address."), field="email")
            if actor is None:
                return None
        email = clean_user_email(value)
        # Case-insensitive: two accounts with one mailbox would receive each other's links.
        if email.lower() in taken_emails:
            raise Conflict(_l("Another user already has this e-mail address."), field="email")
        return email

    def placed(unit_id: int | None, roles: tuple[str, ...]) -> Unit | None:
        unit = None
        if unit_id is not None:
            unit = units.get(unit_id)
            if unit is None:
                raise InvalidInput(_l("Unknown unit."), field="unit_id")
        check_user_unit(session, region, unit, roles)
        return unit

    def scope_of(value, roles: tuple[str, ...]) -> str:
        scope = value if isinstance(value, str) else " ".join(value)
        if (roles, scope) not in scopes:
            scopes[roles, scope] = checked_scope(session, region, roles, scope)
        return scope

    for position, item in enumerate(new):
        # Every field checked, so that a page shows each refusal at once (a unit and a scope depend on roles).
        refusals = Refusals(kinds=(Conflict,))
        roles = refusals.take(lambda item=item: parse_roles(item.roles))
        username = refusals.take(lambda item=item: free_username(item.username))
        display_name = refusals.take(lambda item=item: clean_display_name(item.display_name, "display_name"))
        email = refusals.take(lambda item=item: free_email(item.email))
        unit = scope = None
        if roles is not None:
            unit = refusals.take(lambda item=item, roles=roles: placed(item.unit_id, roles))
            scope = refusals.take(lambda item=item, roles=roles: scope_of(item.coordinator_scope, roles))
        language = refusals.take(lambda item=item: checked_language(item.language))
        try:
            refusals.raise_any()
        except (InvalidInput, Conflict) as error:
            raise BatchRefused(position, error) from None
        taken_usernames.add(username.lower())
        if email is not None:
            taken_emails.add(email.lower())
        user = User(
            language=language,
            username=username,
            display_name=display_name,
            email=email,
            unit_id=unit.id if unit is not None else None,
            roles=",".join(roles),
            password_hash=item.password_hash or unusable_password_hash(),
        )
        rows.append({column.key: getattr(user, column.key) for column in _USER_COLUMNS})
        checked.append(scopes[roles, scope])
    inserted = {
        user.username: user for user in session.scalars(insert_unless_taken(session, User), rows).all()
    }
    created = []
    for position, (values, (counties, municipalities)) in enumerate(zip(rows, checked, strict=True)):
        user = inserted.get(values["username"])
        if user is None:  # created by a request that committed after the check (a double submit)
            raise BatchRefused(position, Conflict(_l("This username is taken."), field="username"))
        session.add_all(CoordinatorScope(user_id=user.id, county_code=code) for code in counties)
        session.add_all(CoordinatorScope(user_id=user.id, municipality_code=code) for code in municipalities)
        after = _snapshot(user) | {"scope": ", ".join(sorted(counties) + sorted(municipalities))}
        _log(session, actor, "user.create", user, now=now, after=after)
        created.append(user)
    return created


_USER_COLUMNS = [column for column in User.__table__.columns if column.key != "id"]


def _create(session: Session, *, actor: User | None, now: datetime, **values) -> User:
    try:
        return _create_all(session, actor=actor, new=[NewUser(**values)], now=now)[0]
    except BatchRefused as refused:
        raise refused.error from None


def invite_users(session: Session, *, actor: User | None, new: list[NewUser], now: datetime) -> list[User]:
    """Create users (who have no password yet) and queue the e-mails with their set-password links.

    roles: a comma-separated string or a sequence of USER_ROLES (`administrator` means admin);
    coordinator_scope: county and municipality codes (a sequence, or one string separated by commas);
    language: of the user's pages and mail, the set-password mail included.
    actor None is the command line or an import run without a login (no region boundary). Raises
    BatchRefused (the position, and InvalidInput/Conflict with the field) for bad input; nothing is
    written then if the caller's unit of work rolls back.
    """
    if not new:
        return []
    users = _create_all(session, actor=actor, new=new, now=now, email_required=True)
    _send_links(session, actor, users, purpose=INVITE, now=now)
    return users


def invite_user(session: Session, *, actor: User | None, now: datetime, **values) -> User:
    """Create one user and queue their invitation (invite_users); raises InvalidInput/Conflict."""
    try:
        return invite_users(session, actor=actor, new=[NewUser(**values)], now=now)[0]
    except BatchRefused as refused:
        raise refused.error from None


def create_user_from_cli(
    session: Session,
    *,
    username: str,
    display_name: str,
    email: str | None,
    unit_key: str | None,
    roles,
    now: datetime,
    coordinator_scope: str = "",
    password_hash: str | None = None,
) -> tuple[User, str | None]:
    """A user made on the command line: (user, set-password token), no token when password_hash is given.

    coordinator_scope: a coordinator's county and municipality codes (none: every county)."""
    unit_id = None
    if unit_key:
        unit = session.exec(select(Unit).where(Unit.key == unit_key)).first()
        if unit is None:
            raise InvalidInput(_l("Unknown unit."), field="unit_id")
        unit_id = unit.id
    user = _create(
        session,
        actor=None,
        username=username,
        display_name=display_name,
        email=email,
        unit_id=unit_id,
        roles=roles,
        coordinator_scope=coordinator_scope,
        now=now,
        password_hash=password_hash,
    )
    if password_hash is not None:
        return user, None
    token = issue_link(
        session, user, purpose=INVITE, now=now, hours=current_app.config[LIFETIME_KEYS[INVITE]]
    )
    return user, token


@dataclass(frozen=True)
class UserUpdate:
    """What update_user did: whether anything changed (its truth), and on how many SIPs still running the
    user, moved to another unit, stopped being the contact person of the unit they left."""

    changed: bool
    contacts_released: int = 0

    def __bool__(self) -> bool:
        return self.changed


def update_user(
    session: Session,
    actor: User,
    user: User,
    *,
    display_name: str,
    email: str,
    unit_id: int | None,
    roles,
    coordinator_scope: str,
    now: datetime,
    registry: WorkflowRegistry,
    language: str | None = None,
    expected_version: int | None = None,
) -> UserUpdate:
    """Change user's name, e-mail, unit, roles, coordinator scope, language (None: kept); true if changed.

    registry: the loaded workflows, which say the SIPs still running (a user moved from a unit is no longer
    its contact person on those, cases.services.release_contact_person).

    expected_version: the row_version the edit form was read at; a user changed since raises StaleForm
    (None: no check). Everything is checked before the first write, which claims the row.
    """
    _require_manageable(session, actor, user)
    check_form_version(user, expected_version)
    before = _snapshot(user) | {"scope": _scope_text(session, user)}
    # Every field checked, so that the page shows each refusal at once (a unit and a scope depend on roles).
    refusals = Refusals(kinds=(Conflict,))
    chosen = refusals.take(lambda: parse_roles(roles))
    if chosen is not None and ADMIN in user.role_set and ADMIN not in chosen:
        _keep_an_administrator(session, user)
    values = {
        "display_name": refusals.take(lambda: clean_display_name(display_name, "display_name")),
        "email": refusals.take(lambda: _clean_email(session, email, user_id=user.id)),
        "language": (
            refusals.take(lambda: checked_language(language)) if language is not None else user.language
        ),
    }
    scope = None
    if chosen is not None:
        values["unit_id"] = refusals.take(
            lambda: _check_unit(session, actor, unit_id, chosen, kept_unit_id=user.unit_id)
        )
        if ADMIN not in chosen or values["unit_id"] is not None:
            refusals.take(
                lambda: _keep_a_national_administrator(
                    session, user, field="roles" if ADMIN not in chosen else "unit_id"
                )
            )
        values["roles"] = ",".join(chosen)
        region = admin_region(session, actor)
        kept = _kept_scope(session, user)
        scope = refusals.take(lambda: checked_scope(session, region, chosen, coordinator_scope, kept=kept))
    refusals.raise_any()
    counties, municipalities = scope
    after = before | values | {"scope": ", ".join(sorted(counties) + sorted(municipalities))}
    if after == before:
        return UserUpdate(changed=False)
    claim_row_version(session, user, expected_version, stale=stale_form())
    for name, value in values.items():
        setattr(user, name, value)
    session.add(user)
    session.flush()
    _write_scope(session, user, counties, municipalities)
    if before["roles"] != after["roles"] or before["unit_id"] != after["unit_id"]:
        # What the user may see changed: sessions made under the old rights end.
        renew_session_token(user)
    released = 0
    if before["unit_id"] is not None and before["unit_id"] != after["unit_id"]:
        # Left the unit: no longer its contact person on the SIPs still running (its staff name another).
        released = release_contact_person(
            session,
            registry,
            user_id=user.id,
            unit_id=before["unit_id"],
            by_user_id=actor.id if actor is not None else None,
            now=now,
        )
    if before["email"] != after["email"]:
        # A unit whose contact person they are is invited at their address: at the new one from now.
        follow_directory_change(session, user_id=user.id, now=now)
    logged_before = {k: v for k, v in before.items() if after[k] != v}
    logged_after = {k: v for k, v in after.items() if before[k] != v}
    if released:
        # The log says what the move undid too: on how many running SIPs they were the old unit's contact.
        logged_before[CONTACT_ON_RUNNING_SIPS], logged_after[CONTACT_ON_RUNNING_SIPS] = released, 0
    _log(session, actor, "user.update", user, now=now, before=logged_before, after=logged_after)
    return UserUpdate(changed=True, contacts_released=released)


def send_reset_link(session: Session, actor: User, user: User, *, now: datetime) -> None:
    """Queue an e-mail with a set-password link to user; the administrator never sees a password.

    A user who has not chosen a password yet (their invitation expired unused) gets the invitation again,
    with their username and the invitation's lifetime; anyone else a reset.
    """
    _require_manageable(session, actor, user)
    if not user.email:
        raise InvalidInput(_l("The user has no e-mail address: add one first."), field="email")
    if not user.active:
        raise Conflict(_l("The account is disabled: enable it first."))
    _send_link(session, actor, user, purpose=RESET if has_chosen_password(user) else INVITE, now=now)


def _send_link(session: Session, actor: User | None, user: User, *, purpose: str, now: datetime) -> None:
    _send_links(session, actor, [user], purpose=purpose, now=now)


def _send_links(
    session: Session, actor: User | None, users: list[User], *, purpose: str, now: datetime
) -> None:
    hours = current_app.config[LIFETIME_KEYS[purpose]]
    issued = issue_links(session, users, purpose=purpose, now=now, hours=hours, created_by=actor)
    shapes: dict = {}
    rows = enqueue_all(
        session,
        [
            Outgoing(
                _message(user, token, purpose=purpose, hours=hours, shapes=shapes),
                OUTBOX_KIND,
                None,
                None,
                language=language_or_default(user.language),
            )
            for user, (token, _link) in zip(users, issued, strict=True)
        ],
        now=now,
    )
    # Each link knows the mail that carried it, so its delivery can be told (undelivered_links): written with
    # the next flush, one executemany UPDATE for the batch (the message needs the token, so the link first).
    for (_token, link), row in zip(issued, rows, strict=True):
        link.outbox_id = row.id
    for user in users:
        _log(session, actor, f"user.{purpose}_link", user, now=now, after={"email": user.email})


def undelivered_links(session: Session, user_ids: list[int]) -> dict[int, datetime]:
    """Of users, those whose newest set-password link's e-mail the relay refused for good (a mistyped
    address, a mailbox that is gone): when it was written. The administrator is told on the user's page and
    in the users list, and sends a new link once the address is right. One statement; each user's newest
    link through ix_password_link_user's user_id, its mail by id."""
    if not user_ids:
        return {}
    newest = (
        select(PasswordLink.user_id, func.max(PasswordLink.id).label("link_id"))
        .where(col(PasswordLink.user_id).in_(user_ids))
        .group_by(PasswordLink.user_id)
        .subquery()
    )
    rows = session.exec(
        select(newest.c.user_id, OutboxMessage.created_at)
        .join(PasswordLink, PasswordLink.id == newest.c.link_id)
        .join(OutboxMessage, OutboxMessage.id == PasswordLink.outbox_id)
        .where(OutboxMessage.status == "failed")
    ).all()
    return {user_id: created_at for user_id, created_at in rows}


def set_password_url(token: str) -> str:
    """The absolute address of a set-password link, under SIPFLOW_PUBLIC_URL."""
    return f"{current_app.config['PUBLIC_URL']}/set-password/{token}"


# The headers of a set-password message as set_content leaves them, in order (Message-ID and Date come later).
_SHAPE_HEADERS = ("From", "To", "Subject", "Content-Type", "Content-Transfer-Encoding", "MIME-Version")


def _message(user: User, token: str, *, purpose: str, hours: int, shapes: dict | None = None) -> EmailMessage:
    """The e-mail carrying the link: in the user's language, and a subject that names no one.

    shapes: a batch's messages so far, one per language; a message like one of them takes its parsed
    headers (the email package parses every header set as text, most of an invitation's cost) and only
    parses its To.
    """
    language = language_or_default(user.language)
    with force_locale(language):
        subject = _("Your account in SIP") if purpose == INVITE else _("Choose a new password for SIP")
        text = current_app.jinja_env.get_template("emails/set_password.txt").render(
            url=set_password_url(token), hours=hours, invite=purpose == INVITE, username=user.username
        )
    shape = shapes.get(language) if shapes is not None else None
    message = EmailMessage(policy=email.policy.SMTP)
    if shape is not None:
        for name in _SHAPE_HEADERS:
            message[name] = user.email if name == "To" else shape[name]
        # What set_content(text, cte="quoted-printable") writes (email.contentmanager._encode_text).
        body = b"\n".join(text.encode("utf-8").splitlines()) + b"\n"
        message.set_payload(quoprimime.body_encode(body.decode("latin-1"), message.policy.max_line_length))
        return message
    message["From"] = sender()
    message["To"] = user.email
    message["Subject"] = subject
    message.set_content(text, subtype="plain", charset="utf-8", cte="quoted-printable")
    if shapes is not None:
        shapes[language] = message
    return message


def _require_manageable(session: Session, actor: User, user: User) -> None:
    if not can_manage(session, actor, user):
        raise NotAllowed(_l("This user belongs to another region."))


def _active_admin_ids(session: Session) -> set[int]:
    # roles is a short comma-separated list: the LIKE narrows, role_set decides (no "administrators" role).
    rows = session.exec(select(User).where(User.active, col(User.roles).like("%admin%"))).all()
    return {user.id for user in rows if ADMIN in user.role_set}


def _keep_a_national_administrator(session: Session, user: User, field: str | None = None) -> None:
    """Refuse to take the last active national administrator (an administrator without a unit) away: a
    region's administrator manages only users of a unit of their region, so a coordinator without a unit,
    and the organisations of no county, could no longer be administered on the pages."""
    if not (user.active and user.unit_id is None and ADMIN in user.role_set):
        return
    others = session.exec(
        select(User).where(
            User.active, col(User.unit_id).is_(None), col(User.roles).like("%admin%"), User.id != user.id
        )
    ).all()
    if not any(ADMIN in other.role_set for other in others):
        raise Conflict(
            _l(
                "This is the last national administrator (an administrator without a unit): make another"
                " user one first."
            ),
            field=field,
        )


def _keep_an_administrator(session: Session, user: User) -> None:
    """Refuse to take the last active administrator away (nobody could administer sipflow any more)."""
    if user.active and _active_admin_ids(session) <= {user.id}:
        raise Conflict(_l("This is the last active administrator: make another user administrator first."))


def disable_user(session: Session, actor: User, user: User, *, now: datetime) -> None:
    """Disable an account and end every session of it; never yourself, never the last administrator."""
    _require_manageable(session, actor, user)
    if user.id == actor.id:
        raise InvalidInput(_l("You cannot disable your own account."))
    if ADMIN in user.role_set:
        _keep_an_administrator(session, user)
        _keep_a_national_administrator(session, user)
    if not user.active:
        return
    user.active = False
    renew_session_token(user)
    # The user's page shows whether the account is active: a form read before is stale.
    bump_row_version(user)
    session.add(user)
    _log(session, actor, "user.disable", user, now=now, before={"active": True}, after={"active": False})
    # A unit whose contact person they were is invited at its shared mailbox instead.
    follow_directory_change(session, user_id=user.id, now=now)


def enable_user(session: Session, actor: User, user: User, *, now: datetime) -> None:
    """Let a disabled account log in again."""
    _require_manageable(session, actor, user)
    if user.active:
        return
    user.active = True
    # A set-password link sent before the account was disabled stays dead: send a new one if needed.
    end_unused_links(session, user, now=now)
    bump_row_version(user)
    session.add(user)
    _log(session, actor, "user.enable", user, now=now, before={"active": False}, after={"active": True})
    follow_directory_change(session, user_id=user.id, now=now)


def end_user_sessions(session: Session, actor: User, user: User, *, now: datetime) -> None:
    """End every session of a user (ASVS 7.4.5); the account stays active."""
    _require_manageable(session, actor, user)
    renew_session_token(user)
    session.add(user)
    _log(session, actor, "user.end_sessions", user, now=now)
