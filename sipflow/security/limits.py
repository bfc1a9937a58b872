"""Login throttling with Flask-Limiter: failed attempts are counted per client address and per username.

Only failures count (a view sets ``g.login_failed``), so a busy office behind one address is not locked out
by its own successful logins, and a correct password does not wipe the failures before it. Once a limit is
reached every attempt is refused with 429, the right password included, until the window has moved on.

The counters live in ``SIPFLOW_RATELIMIT_STORAGE_URI``. The default ``memory://`` is per process: with
several gunicorn workers (or web nodes) each keeps its own count and the limits multiply, so production
points it at a shared store such as ``redis://host:6379/0``. Behind a proxy, configure ProxyFix so
``request.remote_addr`` is the client's address rather than the proxy's.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import time

from flask import Flask, current_app, g, request
from flask_limiter import Limiter, RequestLimit
from flask_limiter.util import get_remote_address

limiter = Limiter(key_func=get_remote_address)


def init_limits(app: Flask) -> None:
    """Attach the limiter; storage, strategy and headers come from the RATELIMIT_* config."""
    limiter.init_app(app)


def failure_recorded(_response) -> bool:
    """Deduct from a limit only when the view recorded a failed attempt."""
    return bool(g.get("login_failed"))


def address_key() -> str:
    """The client address (set ProxyFix behind a proxy)."""
    return get_remote_address() or "unknown"


def _keyed(kind: str, value: str) -> str:
    # Whatever was typed as a username (a personnummer, a mistyped password) never reaches the store.
    secret = current_app.config["SECRET_KEY"].encode()
    return kind + ":" + hmac.new(secret, value.encode(), hashlib.sha256).hexdigest()[:32]


def username_key() -> str:
    """The username of the login form, case- and space-insensitive, as a keyed hash."""
    return _keyed("username", (request.form.get("username") or "").strip().casefold())


def user_key() -> str:
    """The logged-in user (for the password change form)."""
    from flask_login import current_user

    return _keyed("user", str(getattr(current_user, "id", "") or "anonymous"))


def username_limits() -> str:
    return current_app.config["LOGIN_LIMIT_PER_USERNAME"]


def address_limits() -> str:
    return current_app.config["LOGIN_LIMIT_PER_ADDRESS"]


def wait_seconds(limit: RequestLimit) -> int:
    """Seconds until the breached limit lets the next attempt through (at least one)."""
    return max(1, math.ceil(limit.window[0] - time.time()))


def wait_minutes(limit: RequestLimit) -> int:
    """Whole minutes until the breached limit lets the next attempt through (at least one)."""
    return max(1, math.ceil(wait_seconds(limit) / 60))


def forget_username_failures() -> None:
    """After a successful login, clear that username's failures; the address keeps its count.

    Whoever knows the password has nothing left to guess, so the user is not locked out by attempts that
    came before; an address's count stays, or a valid account of one's own would reset it between guesses.
    """
    for request_limit in limiter.current_limits:
        if request_limit.request_args and request_limit.request_args[-1].endswith(":username"):
            limiter.limiter.clear(request_limit.limit, *request_limit.request_args)
