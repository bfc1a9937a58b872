"""What the administration pages read."""

from __future__ import annotations

from sqlalchemy import String, and_, cast, func, literal_column, null, or_, union, union_all
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from sipflow.admin.models import AdminChange, CoordinatorScope
from sipflow.cases.fields import normalised
from sipflow.people.labels import unit_label
from sipflow.people.models import Organisation, Unit, User
from sipflow.routing import KeysetPage, keyset_page

# --- Users of one region, and the administration log -------------------------------------------------------

USERS_PAGE = 100
LOG_PAGE = 50
# The target kinds the log page filters by (others may appear; they are shown, not offered as filters).
LOG_TARGET_KINDS = ("user", "organisation", "unit", "import")
# The longest user search: the longest value it can match, an e-mail address (User.email).
USER_SEARCH_MAX = 254
# Above every character a name holds: lower(column) < prefix + this is "starts with prefix" (code points).
_LAST_CHARACTER = "\U0010ffff"


def _case_variants(lowered: str) -> list[str]:
    """lowered, and as a name is written: each word's first letter capital, or all capitals, for the letters
    outside ASCII only: SQLite's lower() folds only A-Z (to it, lower("ÅSA") is "Åsa")."""

    def upper(character: str) -> str:
        return character.upper() if len(character.upper()) == 1 else character

    words = "".join(
        upper(c) if not c.isascii() and (i == 0 or not lowered[i - 1].isalnum()) else c
        for i, c in enumerate(lowered)
    )
    capitals = "".join(upper(c) if not c.isascii() else c for c in lowered)
    return list(dict.fromkeys((lowered, words, capitals)))


def user_search_clause(term: str, *, dialect: str):
    """A WHERE clause on User: its name, username or e-mail address starts with term, whatever the case.

    Each reads an index on lower(column) (people.models.USER_SEARCH_INDEXES): on PostgreSQL a LIKE with the
    term's % and _ escaped (startswith's autoescape; text_pattern_ops), on SQLite a range in code point order.
    """
    # Names are stored normalised (fields.normalised): a term typed decomposed finds them too.
    prefixes = _case_variants(normalised(term).lower())
    found = []
    for column in (User.display_name, User.username, User.email):
        lowered = func.lower(column)
        for prefix in prefixes:
            if dialect == "postgresql":
                condition = lowered.startswith(prefix, autoescape=True)
            else:
                condition = and_(lowered >= prefix, lowered < prefix + _LAST_CHARACTER)
            found.append(select(User.id).where(condition))
    # Each look-up on its own, so each reads its index: a planner given them ORed would rather walk the
    # users in the page's id order, hoping to fill the page early, and read them all for a rare name.
    return col(User.id).in_(union(*found))


def users_page(
    session: Session,
    where,
    *,
    after_id: int | None,
    before_id: int | None = None,
    page: int = 1,
    search: str | None = None,
    limit: int | None = None,
) -> KeysetPage:
    """A page of users (with unit and organisation) by id after after_id, or the page before before_id,
    limited by where (None: all) and to those search finds (user_search_clause; None or empty: all)."""
    limit = USERS_PAGE if limit is None else limit
    dialect = session.get_bind().dialect.name

    def read(cursor: int | None, backwards: bool, count: int) -> list:
        statement = users_page_query(
            where, after_id=cursor, search=search, dialect=dialect, limit=count - 1, backwards=backwards
        )
        return list(session.exec(statement).all())

    return keyset_page(
        read, after=after_id, before=before_id, page=page, limit=limit, key=lambda row: row[0].id
    )


def users_page_query(
    where, *, after_id: int | None, search: str | None, dialect: str, limit: int, backwards: bool = False
):
    """The statement of users_page: one row more than limit, so the page knows whether another follows;
    backwards, the users before after_id, nearest first (the previous page)."""
    statement = (
        select(User, Unit, Organisation)
        .outerjoin(Unit, Unit.id == User.unit_id)
        .outerjoin(Organisation, Organisation.id == Unit.organisation_id)
        .order_by(User.id.desc() if backwards else User.id)
        .limit(limit + 1)
    )
    if where is not None:
        statement = statement.where(where)
    if after_id is not None:
        statement = statement.where(User.id < after_id if backwards else User.id > after_id)
    if search:
        statement = statement.where(user_search_clause(search, dialect=dialect))
    return statement


def coordinators_of_every_county(session: Session, users: list[User]) -> set[int]:
    """The ids of the coordinators among users who follow no county or municipality in particular: every
    county (users.checked_scope). One read for a page of users."""
    coordinators = {user.id for user in users if "coordinator" in user.role_set}
    if not coordinators:
        return set()
    scoped = session.exec(
        select(CoordinatorScope.user_id).where(col(CoordinatorScope.user_id).in_(coordinators)).distinct()
    ).all()
    return coordinators - set(scoped)


def log_page(
    session: Session,
    where_users,
    *,
    target_kind: str | None,
    before_id: int | None,
    after_id: int | None = None,
    page: int = 1,
    limit: int = LOG_PAGE,
) -> KeysetPage:
    """A page of administration log rows newest first, with their actor (None: command line): the rows
    older than the row before_id (the next page), or newer than the row after_id (the previous page).

    where_users limits rows to those whose actor, target user, target organisation or target unit passes it
    (a clause on Organisation, joined through a user's unit or a unit; None: every row), so a region sees the
    changes to its directory whoever made them.
    """
    actor = aliased(User)
    statement = select(AdminChange, actor).outerjoin(actor, actor.id == AdminChange.actor_user_id)
    if target_kind:
        statement = statement.where(AdminChange.target_kind == target_kind)
    if where_users is not None:
        in_region = (
            select(User.id)
            .join(Unit, Unit.id == User.unit_id)
            .join(Organisation, Organisation.id == Unit.organisation_id)
            .where(where_users)
        )
        organisations = select(Organisation.id).where(where_users)
        units = select(Unit.id).join(Organisation, Organisation.id == Unit.organisation_id).where(where_users)
        statement = statement.where(
            or_(
                AdminChange.actor_user_id.in_(in_region),
                and_(AdminChange.target_kind == "user", AdminChange.target_id.in_(in_region)),
                and_(AdminChange.target_kind == "organisation", AdminChange.target_id.in_(organisations)),
                and_(AdminChange.target_kind == "unit", AdminChange.target_id.in_(units)),
            )
        )

    def read(cursor_id: int | None, backwards: bool, count: int) -> list:
        cursor = session.get(AdminChange, cursor_id) if cursor_id is not None else None
        if cursor_id is not None and cursor is None:
            return []
        return list(session.exec(log_rows_query(statement, cursor, backwards=backwards, count=count)).all())

    return keyset_page(
        read, after=before_id, before=after_id, page=page, limit=limit, key=lambda row: row[0].id
    )


def log_rows_query(statement, cursor: AdminChange | None, *, backwards: bool, count: int):
    """statement's log rows newest first from past cursor (None: the newest), or backwards, towards the
    newer rows, oldest first: a walk of ix_admin_change_at_id either way."""
    if backwards:
        statement = statement.order_by(AdminChange.at, AdminChange.id)
    else:
        statement = statement.order_by(AdminChange.at.desc(), AdminChange.id.desc())
    if cursor is not None:
        at, row = (AdminChange.at > cursor.at, AdminChange.id > cursor.id)
        if not backwards:
            at, row = (AdminChange.at < cursor.at, AdminChange.id < cursor.id)
        statement = statement.where(or_(at, and_(AdminChange.at == cursor.at, row)))
    return statement.limit(count)


def readable_diff(before: dict | None, after: dict | None) -> list[tuple[str, object, object]]:
    """(field, before, after) for each field whose value differs, in field order."""
    before, after = before or {}, after or {}
    keys = list(dict.fromkeys([*before, *after]))
    return [(key, before.get(key), after.get(key)) for key in keys if before.get(key) != after.get(key)]


# The logged fields holding the id of another row, and that row's kind.
ID_FIELDS = {"unit_id": "unit", "organisation_id": "organisation"}


def log_names(session: Session, changes: list[AdminChange]) -> dict[tuple[str, int], str]:
    """The names of the users, organisations and units the log rows name, as targets or as the values of
    unit_id and organisation_id: {(kind, id): name}, read in one statement for the page."""
    wanted: dict[str, set[int]] = {"user": set(), "organisation": set(), "unit": set()}
    for change in changes:
        if change.target_kind in wanted and change.target_id is not None:
            wanted[change.target_kind].add(change.target_id)
        for values in (change.before or {}, change.after or {}):
            for field, kind in ID_FIELDS.items():
                value = values.get(field)
                if isinstance(value, int) and not isinstance(value, bool):
                    wanted[kind].add(value)
    parts = []
    if wanted["user"]:
        parts.append(
            select(literal_column("'user'"), User.id, User.display_name, cast(null(), String)).where(
                col(User.id).in_(wanted["user"])
            )
        )
    if wanted["organisation"]:
        parts.append(
            select(
                literal_column("'organisation'"), Organisation.id, Organisation.name, cast(null(), String)
            ).where(col(Organisation.id).in_(wanted["organisation"]))
        )
    if wanted["unit"]:
        parts.append(
            select(literal_column("'unit'"), Unit.id, Unit.name, Organisation.name)
            .join(Organisation, Organisation.id == Unit.organisation_id)
            .where(col(Unit.id).in_(wanted["unit"]))
        )
    if not parts:
        return {}
    rows = session.execute(union_all(*parts)).all()
    return {
        (kind, row_id): unit_label(organisation, name) if organisation is not None else name
        for kind, row_id, name, organisation in rows
    }
