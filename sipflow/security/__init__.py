"""Login, sessions, CSRF and security headers."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Flask, flash, redirect, request, session, url_for
from flask_babel import lazy_gettext as _l
from flask_login import LoginManager, current_user, logout_user
from flask_wtf.csrf import CSRFProtect
from sqlmodel import select

from sipflow.db import get_session

login_manager = LoginManager()
csrf = CSRFProtect()

# No inline script anywhere: the pages work without JavaScript.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)


@login_manager.user_loader
def _load_user(token: str):
    from sipflow.people.models import User

    user = get_session().exec(select(User).where(User.session_token == token)).first()
    return user if user is not None and user.active else None


def init_security(app: Flask) -> None:
    """Attach flask-login, CSRF protection, the inactivity timeout and the security headers."""
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Log in to continue.")
    login_manager.session_protection = "strong"
    csrf.init_app(app)
    idle_seconds = app.config["SESSION_IDLE_MINUTES"] * 60

    @app.before_request
    def _inactivity_timeout():
        if not current_user.is_authenticated:
            return None
        now = datetime.now(UTC).timestamp()
        last_seen = session.get("seen", now)
        if now - last_seen > idle_seconds:
            logout_user()
            session.clear()
            flash(_l("You were logged out after a period of inactivity."), "info")
            return redirect(url_for("auth.login"))
        session["seen"] = now
        return None

    @app.after_request
    def _security_headers(response):
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        if request.endpoint != "static":
            response.headers.setdefault("Cache-Control", "no-store")
        if app.config["ENV_NAME"] == "production":
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        return response
