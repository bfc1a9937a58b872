"""What the administration pages read."""

from __future__ import annotations

from sqlalchemy import and_, or_
from sqlalchemy.orm import aliased
from sqlmodel import Session, select

from sipflow.admin.models import AdminChange
from sipflow.people.models import Organisation, Unit, User

# --- Users of one region, and the administration log -------------------------------------------------------

USERS_PAGE = 100
LOG_PAGE = 50
# The target kinds the log page filters by (others may appear; they are shown, not offered as filters).
LOG_TARGET_KINDS = ("user", "organisation", "unit", "import")


def users_page(session: Session, where, *, after_id: int | None, limit: int = USERS_PAGE):
    """A page of users (with unit and organisation) by id after after_id, limited by where (None: all).

    Returns (rows, next_after_id); next_after_id is None on the last page.
    """
    statement = (
        select(User, Unit, Organisation)
        .outerjoin(Unit, Unit.id == User.unit_id)
        .outerjoin(Organisation, Organisation.id == Unit.organisation_id)
        .order_by(User.id)
        .limit(limit + 1)
    )
    if where is not None:
        statement = statement.where(where)
    if after_id is not None:
        statement = statement.where(User.id > after_id)
    rows = list(session.exec(statement).all())
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1][0].id if more and rows else None)


def log_page(
    session: Session, where_users, *, target_kind: str | None, before_id: int | None, limit: int = LOG_PAGE
):
    """A page of administration log rows newest first, with their actor (None: command line).

    where_users limits rows to those whose actor, target user, target organisation or target unit passes it
    (a clause on Organisation, joined through a user's unit or a unit; None: every row), so a region sees the
    changes to its directory whoever made them. Returns (rows, next_before_id).
    """
    actor = aliased(User)
    statement = (
        select(AdminChange, actor)
        .outerjoin(actor, actor.id == AdminChange.actor_user_id)
        .order_by(AdminChange.at.desc(), AdminChange.id.desc())
        .limit(limit + 1)
    )
    if target_kind:
        statement = statement.where(AdminChange.target_kind == target_kind)
    if before_id is not None:
        cursor = session.get(AdminChange, before_id)
        if cursor is not None:
            statement = statement.where(
                or_(
                    AdminChange.at < cursor.at,
                    and_(AdminChange.at == cursor.at, AdminChange.id < cursor.id),
                )
            )
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
    rows = list(session.exec(statement).all())
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1][0].id if more and rows else None)


def readable_diff(before: dict | None, after: dict | None) -> list[tuple[str, object, object]]:
    """(field, before, after) for each field whose value differs, in field order."""
    before, after = before or {}, after or {}
    keys = list(dict.fromkeys([*before, *after]))
    return [(key, before.get(key), after.get(key)) for key in keys if before.get(key) != after.get(key)]
