"""How the CSV import creates a user: the one connection point to the users service.

The import checks every line before it writes anything (username and e-mail free, unit known and active,
roles and coordinator scope known), then calls `_create_user` once per new user in the same unit of work.
When `sipflow.admin` gains `invite_user` (the invitation with its set-password link by e-mail), this
function becomes a call to it with the same arguments; until then it creates the account without a usable
password (nobody knows it) and logs `user.create`, so only the set-password link can open it.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime

from sqlmodel import Session

from sipflow.admin.changes import record_change
from sipflow.people.models import User
from sipflow.security.passwords import hash_password


def _create_user(
    session: Session,
    *,
    actor: User | None,
    username: str,
    display_name: str,
    email: str,
    unit_id: int,
    roles: Sequence[str],
    now: datetime,
    coordinator_scope: Sequence[str] = (),
) -> User:
    """Create one user of the import (invite_user's signature; see the module docstring)."""
    user = User(
        username=username,
        display_name=display_name,
        email=email,
        unit_id=unit_id,
        roles=",".join(roles),
        # A random password nobody is told: the account opens only through a set-password link.
        password_hash=hash_password(secrets.token_urlsafe(32)),
    )
    session.add(user)
    session.flush()
    record_change(
        session,
        actor_user_id=actor.id if actor is not None else None,
        action="user.create",
        target_kind="user",
        target_id=user.id,
        now=now,
        after={
            "username": username,
            "display_name": display_name,
            "email": email,
            "unit_id": unit_id,
            "roles": ",".join(roles),
            "coordinator_scope": list(coordinator_scope),
        },
    )
    return user
