"""Login throttling kept in the database: every worker and node sees the same counts, a restart keeps them.

Every password check (the login form, the current password of the password change) first writes a
`login_failure` row and commits it, then counts, then verifies the password: a row is a failure until the
password proves right, so guesses sent in parallel to several workers see each other. A row holds keyed
hashes of the username and of the client address (HMAC with the secret key), never what was typed: a
personnummer or a password typed into the wrong box must not be stored.

The rules, each read from the rows of the last window:

- **per address** (`LOGIN_LIMIT_PER_ADDRESS`, any usernames): one address guessing many accounts is refused.
  A success does not lower this count, or a valid account of one's own would reset it between guesses.
- **per username and address** (`LOGIN_LIMIT_PER_USERNAME`): that address is refused for that username,
  the right password included; the same username from another address is not.
- **per username, from every address**: after `LOGIN_DELAY_AFTER_FAILURES` failures within the hour, an
  address that has failed for the username waits, after its own last failure, a delay that doubles with
  every further failure (at most `LOGIN_DELAY_MAX_SECONDS`). An address that has not failed for it gets its
  attempt. A spread-out attacker gets one guess per address per delay; the real user is slowed at most by
  the longest delay, never locked out by someone else's guesses.

A refused attempt is not a failure (its row is withdrawn), so hammering a closed door does not keep it
closed for ever. A success is not counted, and it forgives the failures of that username from that
address. Rows older than the longest window are deleted whenever a new one is written.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from limits import parse_many
from sqlalchemy import Index, delete, update
from sqlmodel import Field, Session, SQLModel, func, select

from sipflow.clock import now_utc
from sipflow.db import unit_of_work

LOGIN = "login"
PASSWORD_CHANGE = "password"
SCOPES = (LOGIN, PASSWORD_CHANGE)
# Failures further back than this do not grow the per-username delay.
DELAY_WINDOW = timedelta(hours=1)
FIRST_DELAY_SECONDS = 15


class LoginFailure(SQLModel, table=True):
    """A failed (or not yet decided) password check: keyed hashes of the username and address, and when."""

    __tablename__ = "login_failure"
    __table_args__ = (
        Index("ix_login_failure_username", "scope", "username_key", "failed_at"),
        Index("ix_login_failure_address", "scope", "address_key", "failed_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    scope: str = Field(max_length=12)
    username_key: str = Field(max_length=64)
    address_key: str = Field(max_length=64)
    failed_at: datetime = Field(index=True)
    # A later success from the same address: no longer held against the username (the address still is).
    forgiven: bool = False


@dataclass(frozen=True)
class Policy:
    """The limits as (attempts, window seconds) pairs, and the per-username delay."""

    per_address: tuple[tuple[int, int], ...]
    per_username_and_address: tuple[tuple[int, int], ...]
    delay_after: int
    delay_max_seconds: int

    @classmethod
    def from_config(cls, config) -> Policy:
        """The policy of the app's LOGIN_* settings."""

        def pairs(text: str) -> tuple[tuple[int, int], ...]:
            return tuple((item.amount, item.get_expiry()) for item in parse_many(text))

        return cls(
            per_address=pairs(config["LOGIN_LIMIT_PER_ADDRESS"]),
            per_username_and_address=pairs(config["LOGIN_LIMIT_PER_USERNAME"]),
            delay_after=int(config["LOGIN_DELAY_AFTER_FAILURES"]),
            delay_max_seconds=int(config["LOGIN_DELAY_MAX_SECONDS"]),
        )

    @property
    def horizon(self) -> timedelta:
        """How long a row can still matter to any rule."""
        seconds = [window for _amount, window in self.per_address + self.per_username_and_address]
        seconds += [DELAY_WINDOW.total_seconds(), self.delay_max_seconds]
        return timedelta(seconds=max(seconds))

    def delay(self, failures: int) -> int:
        """Seconds an address that failed must wait when the username has failures in the last hour."""
        if failures < self.delay_after:
            return 0
        return min(self.delay_max_seconds, FIRST_DELAY_SECONDS * 2 ** min(failures - self.delay_after, 20))


@dataclass(frozen=True)
class Attempt:
    """A password check let through: the row that stays as a failure unless the password was right."""

    row_id: int
    scope: str
    username_key: str
    address_key: str


@dataclass(frozen=True)
class Refusal:
    """An attempt refused before any password was checked: which rule, and how long to wait."""

    rule: str
    wait_seconds: int

    @property
    def wait_minutes(self) -> int:
        """Whole minutes to wait (at least one), for the page."""
        return max(1, math.ceil(self.wait_seconds / 60))


def keyed(kind: str, value: str) -> str:
    """A keyed hash of value: the same in every worker, useless without the secret key."""
    secret = current_app.config["SECRET_KEY"].encode()
    return hmac.new(secret, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()


def username_key(username: str) -> str:
    """The key of a typed username, case- and space-insensitive."""
    return keyed("username", username.strip().casefold())


def user_key(user_id: int) -> str:
    """The key of a logged-in user (the password change)."""
    return keyed("user", str(user_id))


def address_key(address: str | None) -> str:
    """The key of a client address (behind a proxy, SIPFLOW_TRUSTED_PROXIES makes it the client's)."""
    return keyed("address", address or "unknown")


def admit(
    session: Session,
    *,
    scope: str,
    username_key: str,
    address_key: str,
    policy: Policy,
    now: datetime | None = None,
) -> Attempt | Refusal:
    """Record an attempt before its password is checked, and let it through or refuse it.

    Commits on its own (twice at most): the row must be visible to every other worker before counting.
    """
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {SCOPES}, got {scope!r}")
    now = now or now_utc()
    with unit_of_work(session):
        prune(session, policy, now=now)
        row = LoginFailure(scope=scope, username_key=username_key, address_key=address_key, failed_at=now)
        session.add(row)
        session.flush()
        attempt = Attempt(row.id, scope, username_key, address_key)
    refusal = _refusal(session, attempt, policy, now)
    if refusal is None:
        return attempt
    with unit_of_work(session):
        # Refused without a password check: not a failure, so waiting out the window is enough.
        session.execute(delete(LoginFailure).where(LoginFailure.id == attempt.row_id))
    return refusal


def forgive(session: Session, attempt: Attempt) -> None:
    """The password was right: the attempt was no failure, and the earlier failures of the username from
    its address no longer count against the username (the address rule still counts them)."""
    with unit_of_work(session):
        # A success is not counted at all: an office behind one address must not lock itself out.
        session.execute(delete(LoginFailure).where(LoginFailure.id == attempt.row_id))
        session.execute(
            update(LoginFailure)
            .where(
                LoginFailure.scope == attempt.scope,
                LoginFailure.username_key == attempt.username_key,
                LoginFailure.address_key == attempt.address_key,
            )
            .values(forgiven=True)
        )


def prune(session: Session, policy: Policy, *, now: datetime | None = None) -> int:
    """Delete the rows no rule looks at any more (the caller commits); how many."""
    now = now or now_utc()
    result = session.execute(delete(LoginFailure).where(LoginFailure.failed_at < now - policy.horizon))
    return result.rowcount or 0


def _others(attempt: Attempt, since: datetime):
    return (
        LoginFailure.scope == attempt.scope,
        LoginFailure.id != attempt.row_id,
        LoginFailure.failed_at > since,
    )


def _wait_for_limit(session: Session, where, limits, now: datetime) -> int:
    """Seconds until every (amount, window) limit has room again for the rows matching where; 0 if it has."""
    wait = 0
    for amount, window in limits:
        since = now - timedelta(seconds=window)
        times = session.exec(
            select(LoginFailure.failed_at)
            .where(*where(since))
            .order_by(LoginFailure.failed_at.desc())
            .limit(amount)
        ).all()
        if len(times) >= amount:
            # The amount-th newest failure leaves the window first among those that fill it.
            wait = max(wait, math.ceil((times[-1] + timedelta(seconds=window) - now).total_seconds()))
    return max(wait, 1) if wait else 0


def _refusal(session: Session, attempt: Attempt, policy: Policy, now: datetime) -> Refusal | None:
    """The rule this attempt breaks with the longest wait, or None."""

    def by_address(since):
        return (*_others(attempt, since), LoginFailure.address_key == attempt.address_key)

    def by_pair(since):
        return (
            *_others(attempt, since),
            LoginFailure.username_key == attempt.username_key,
            LoginFailure.address_key == attempt.address_key,
            LoginFailure.forgiven.is_(False),
        )

    waits = {
        "address": _wait_for_limit(session, by_address, policy.per_address, now),
        "username and address": _wait_for_limit(session, by_pair, policy.per_username_and_address, now),
        "username delay": _delay_wait(session, attempt, policy, now, by_pair),
    }
    rule, wait = max(waits.items(), key=lambda item: item[1])
    return Refusal(rule, wait) if wait > 0 else None


def _delay_wait(session: Session, attempt: Attempt, policy: Policy, now: datetime, by_pair) -> int:
    since = now - DELAY_WINDOW
    failures = session.exec(
        select(func.count())
        .select_from(LoginFailure)
        .where(
            *_others(attempt, since),
            LoginFailure.username_key == attempt.username_key,
            LoginFailure.forgiven.is_(False),
        )
    ).one()
    delay = policy.delay(failures)
    if not delay:
        return 0
    # Only an address that has itself failed for this username waits: the real user elsewhere gets in.
    last_own = session.exec(
        select(LoginFailure.failed_at).where(*by_pair(since)).order_by(LoginFailure.failed_at.desc()).limit(1)
    ).first()
    if last_own is None:
        return 0
    return max(0, math.ceil((last_own + timedelta(seconds=delay) - now).total_seconds()))
