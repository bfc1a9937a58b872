"""Flask-Limiter, for the public pages that need no login (answer links, the calendar feed).

Login and password-change throttling is not here: it is counted in the database (`throttle.py`), so every
worker and node shares it and a restart keeps it. These public limits live in
``SIPFLOW_RATELIMIT_STORAGE_URI``; the default ``memory://`` is per process, so with several gunicorn
workers (or web nodes) production points it at a shared store such as ``redis://host:6379/0``. Behind a
proxy, SIPFLOW_TRUSTED_PROXIES makes ``request.remote_addr`` the client's address rather than the proxy's.
"""

from __future__ import annotations

import math
import time

from flask import Flask, make_response, render_template, request
from flask_limiter import Limiter
from flask_limiter.errors import RateLimitExceeded
from flask_limiter.util import get_remote_address

limiter = Limiter(key_func=get_remote_address)

# When the limit hit cannot say when it frees up again.
DEFAULT_WAIT_SECONDS = 60


def init_limits(app: Flask) -> None:
    """Attach the limiter; storage, strategy and headers come from the RATELIMIT_* config."""
    limiter.init_app(app)
    app.register_error_handler(RateLimitExceeded, refusal_page)


def wait_seconds() -> int:
    """How long until the limit this request hit lets a request through again (at least a second)."""
    current = limiter.current_limit
    if current is None:
        return DEFAULT_WAIT_SECONDS
    return max(1, math.ceil(current.reset_at - time.time()))


def refusal_page(_error: RateLimitExceeded):
    """A request over a public page's limit: a page in the user's language saying how long to wait (429),
    with what was typed into the form it sent (an answer's comment), to copy: nothing of it was saved."""
    from sipflow.forms import typed_in_request  # the forms build on this package

    wait = wait_seconds()
    html = render_template(
        "errors/too_many.html",
        wait_minutes=max(1, round(wait / 60)),
        kept_input=typed_in_request(request.form),
    )
    response = make_response(html, 429)
    response.headers["Retry-After"] = str(wait)
    return response
