"""Set-password links: one-time, expiring links by which a user chooses their password (invitation, reset).

Only a SHA-256 hash of the link's random token is stored, so a copy of the database opens no account. A
link is used once; issuing a new link for a user ends the ones not yet used. Nothing here sends mail: the
administration queues the e-mail, the command line prints the link.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timedelta

from sqlalchemy import Index, update
from sqlmodel import Field, Session, SQLModel, col, select

from sipflow.clock import stored_utc
from sipflow.people.models import User
from sipflow.security import renew_session_token
from sipflow.security.passwords import hash_password

INVITE = "invite"
RESET = "reset"
PURPOSES = (INVITE, RESET)
# Config keys of each purpose's lifetime in hours.
LIFETIME_KEYS = {INVITE: "PASSWORD_INVITE_HOURS", RESET: "PASSWORD_RESET_HOURS"}
# token_urlsafe(32) gives 43 characters of [A-Za-z0-9_-]; anything else was not issued by sipflow.
_TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")
# The password hash of an account whose owner has not chosen a password yet: no argon2 hash, so it never
# verifies (passwords.verify_password answers False for an invalid hash).
UNUSABLE_PREFIX = "!unset-"


class PasswordLink(SQLModel, table=True):
    """A set-password link of one user: an invitation or a reset, used at most once, until it expires."""

    __tablename__ = "password_link"
    __table_args__ = (Index("ix_password_link_user", "user_id", "used_at"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id")
    purpose: str = Field(max_length=8)
    # SHA-256 of the token, hex: the token itself is only in the e-mail (or on the console).
    token_hash: str = Field(max_length=64, unique=True)
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None = None
    # Empty for a link made from the command line.
    created_by_user_id: int | None = Field(default=None, foreign_key="user.id")
    # The e-mail that carried the link (empty for one shown on the console): whether it was delivered is
    # told on the user's page and the users list (admin.users.undelivered_links).
    outbox_id: int | None = Field(default=None, foreign_key="outboxmessage.id")


class LinkRefused(Exception):
    """The link cannot be used; code is tampered (no such link), used (or replaced), expired or disabled."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


def unusable_password_hash() -> str:
    """A password hash no password matches, for an account waiting for its set-password link."""
    return UNUSABLE_PREFIX + secrets.token_hex(16)


def has_chosen_password(user: User) -> bool:
    """False while the user has not yet chosen a password (invited, the link not used)."""
    return not user.password_hash.startswith(UNUSABLE_PREFIX)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def issue_link(
    session: Session,
    user: User,
    *,
    purpose: str,
    now: datetime,
    hours: int,
    created_by: User | None = None,
) -> str:
    """A new link for user valid for hours; the user's earlier unused links end. Returns the token."""
    return issue_links(session, [user], purpose=purpose, now=now, hours=hours, created_by=created_by)[0][0]


def issue_links(
    session: Session,
    users: list[User],
    *,
    purpose: str,
    now: datetime,
    hours: int,
    created_by: User | None = None,
) -> list[tuple[str, PasswordLink]]:
    """issue_link for each of users, in one UPDATE and one INSERT (an import invites thousands): each one's
    token and link row."""
    if purpose not in PURPOSES:
        raise ValueError(f"unknown purpose {purpose!r}")
    session.exec(
        update(PasswordLink)
        .where(
            col(PasswordLink.user_id).in_([user.id for user in users]), col(PasswordLink.used_at).is_(None)
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    tokens = [secrets.token_urlsafe(32) for _ in users]
    links = [
        PasswordLink(
            user_id=user.id,
            purpose=purpose,
            token_hash=_hash(token),
            created_at=now,
            expires_at=now + timedelta(hours=hours),
            created_by_user_id=created_by.id if created_by is not None else None,
        )
        for user, token in zip(users, tokens, strict=True)
    ]
    session.add_all(links)
    session.flush()
    return list(zip(tokens, links, strict=True))


def end_unused_links(session: Session, user: User, *, now: datetime) -> None:
    """End every link of user not yet used: a new link replaces them, a changed password makes them moot."""
    session.exec(
        update(PasswordLink)
        .where(col(PasswordLink.user_id) == user.id, col(PasswordLink.used_at).is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )


def find_link(session: Session, token: str, *, now: datetime) -> tuple[PasswordLink, User]:
    """The link token names and its user, if it can still be used; LinkRefused otherwise."""
    if not isinstance(token, str) or not _TOKEN.fullmatch(token):
        raise LinkRefused("tampered")
    row = session.exec(
        select(PasswordLink, User)
        .join(User, col(User.id) == PasswordLink.user_id)
        .where(PasswordLink.token_hash == _hash(token))
    ).first()
    if row is None:
        raise LinkRefused("tampered")
    link, user = row
    if link.used_at is not None:
        raise LinkRefused("used")
    if stored_utc(link.expires_at) <= now:
        raise LinkRefused("expired")
    if not user.active:
        raise LinkRefused("disabled")
    return link, user


def set_password_with_link(session: Session, token: str, password: str, *, now: datetime) -> User:
    """Set the user's password through the link (the caller checked the policy); the link is spent.

    Every session of the user ends (a reset usually follows a lost or stolen password). The update of the
    link is a compare-and-set, so of two submits of one link only one sets a password.
    """
    link, user = find_link(session, token, now=now)
    spent = session.exec(
        update(PasswordLink)
        .where(col(PasswordLink.id) == link.id, col(PasswordLink.used_at).is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if spent.rowcount != 1:
        raise LinkRefused("used")
    user.password_hash = hash_password(password)
    renew_session_token(user)
    user.last_login_at = now
    session.add(user)
    session.flush()
    return user
