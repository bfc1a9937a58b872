"""Record administrative changes (the one function every administrative service calls); refuse stale forms."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import insert
from sqlmodel import Session

from sipflow.admin.models import AdminChange
from sipflow.errors import Conflict
from sipflow.translated import lazy_gettext as _l

# Values that must never reach the log, whatever a caller passes.
SECRET_FIELDS = frozenset(
    {"password", "password_hash", "session_token", "calendar_feed_key", "token", "nonce"}
)


# An edit form of a user, unit or organisation read before someone else changed the row: nothing is saved.
STALE_ROW = _l(
    "Someone else changed this while you were working. Nothing was saved: what you entered is kept below, "
    "and what is saved now is listed here where it differs. Send the form again to save what you entered."
)

# The same, the form merged (forms.MergesAsRead): what the sender left shows what is saved now.
STALE_ROW_MERGED = _l(
    "Someone else changed this while you were working. Nothing was saved: the fields you left as they were "
    "now show what is saved, and a field you both changed says what it is now. Check the form and send it "
    "again to save your changes."
)


class StaleForm(Conflict):
    """The row changed since its edit form was read (its row_version moved on); nothing was written."""


def stale_form() -> StaleForm:
    """The refusal of a form read at an older row_version."""
    return StaleForm(STALE_ROW)


def check_form_version(row, expected: int | None) -> None:
    """Refuse (StaleForm) a form read at another row_version than row's; expected None: no form, no check."""
    if expected is not None and expected != row.row_version:
        raise stale_form()


def _plain(values: dict | None) -> dict | None:
    if values is None:
        return None
    clean = {}
    for key, value in values.items():
        if key in SECRET_FIELDS:
            continue
        clean[key] = value.isoformat() if isinstance(value, date | datetime) else value
    return clean


def record_change(
    session: Session,
    *,
    actor_user_id: int | None,
    action: str,
    target_kind: str,
    target_id: int | None,
    now: datetime,
    before: dict | None = None,
    after: dict | None = None,
) -> AdminChange:
    """Log one change in the caller's unit of work (so the change and its record commit together)."""
    change = AdminChange(
        at=now,
        actor_user_id=actor_user_id,
        action=action,
        target_kind=target_kind,
        target_id=target_id,
        before=_plain(before),
        after=_plain(after),
    )
    session.add(change)
    return change


def record_changes(session: Session, changes: list[dict]) -> None:
    """record_change of many changes (each its keyword arguments but session) in one INSERT, in the caller's
    unit of work: a directory change of thousands of units logs each of them in a statement or two."""
    if not changes:
        return
    session.execute(
        insert(AdminChange),
        [
            {
                "at": change["now"],
                "actor_user_id": change["actor_user_id"],
                "action": change["action"],
                "target_kind": change["target_kind"],
                "target_id": change["target_id"],
                "before": _plain(change.get("before")),
                "after": _plain(change.get("after")),
            }
            for change in changes
        ],
    )
