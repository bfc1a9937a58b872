"""Flask-Limiter, for the public pages that need no login (answer links, the calendar feed).

Login and password-change throttling is not here: it is counted in the database (`throttle.py`), so every
worker and node shares it and a restart keeps it. These public limits live in
``SIPFLOW_RATELIMIT_STORAGE_URI``; the default ``memory://`` is per process, so with several gunicorn
workers (or web nodes) production points it at a shared store such as ``redis://host:6379/0``. Behind a
proxy, configure ProxyFix so ``request.remote_addr`` is the client's address rather than the proxy's.
"""

from __future__ import annotations

from flask import Flask
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

limiter = Limiter(key_func=get_remote_address)


def init_limits(app: Flask) -> None:
    """Attach the limiter; storage, strategy and headers come from the RATELIMIT_* config."""
    limiter.init_app(app)
