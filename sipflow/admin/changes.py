"""Record administrative changes: the one function every administrative service calls."""

from __future__ import annotations

from datetime import date, datetime

from sqlmodel import Session

from sipflow.admin.models import AdminChange

# Values that must never reach the log, whatever a caller passes.
SECRET_FIELDS = frozenset(
    {"password", "password_hash", "session_token", "calendar_feed_key", "token", "nonce"}
)


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
