"""Log in and log out."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from sqlmodel import select
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from sipflow.db import get_session, unit_of_work
from sipflow.people.models import User
from sipflow.security.passwords import hash_password, needs_rehash, verify_password

bp = Blueprint("auth", __name__)


class LoginForm(FlaskForm):
    """Username and password."""

    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=256)])


def _safe_next(target: str | None) -> str:
    # Only local paths: an open redirect would let a phishing link borrow sipflow's login page.
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return url_for("cases.my_cases")


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Show the login form and log the user in."""
    if current_user.is_authenticated:
        return redirect(url_for("cases.my_cases"))
    form = LoginForm()
    if form.validate_on_submit():
        db = get_session()
        user = db.exec(select(User).where(User.username == form.username.data.strip())).first()
        if user is not None and user.active and verify_password(user.password_hash, form.password.data):
            with unit_of_work(db):
                if needs_rehash(user.password_hash):
                    user.password_hash = hash_password(form.password.data)
                    db.add(user)
            lang = session.get("lang")
            # A new session at login: nothing set before authentication survives it.
            session.clear()
            if lang:
                session["lang"] = lang
            session["seen"] = datetime.now(UTC).timestamp()
            login_user(user)
            return redirect(_safe_next(request.args.get("next")))
        form.password.errors.append(_l("Wrong username or password."))
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
@login_required
def logout():
    """End this and every other session of the user."""
    db = get_session()
    user = db.get(User, current_user.id)
    with unit_of_work(db):
        user.session_token = secrets.token_urlsafe(32)
        db.add(user)
    logout_user()
    session.clear()
    flash(_l("You are logged out."), "info")
    return redirect(url_for("auth.login"))
