"""Log in, log out and change the password."""

from __future__ import annotations

import unicodedata
from urllib.parse import unquote, urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import force_locale
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.routing import RoutingException
from werkzeug.urls import iri_to_uri
from wtforms import PasswordField
from wtforms.validators import DataRequired, EqualTo

from sipflow.clock import now_utc
from sipflow.db import get_session, unit_of_work
from sipflow.forms import PageForm
from sipflow.i18n import chosen_language, language_or_default
from sipflow.lengths import MaxLength
from sipflow.people.models import User
from sipflow.people.services import find_user_by_username, set_user_language
from sipflow.security import clear_session_keeping_language, password_links, renew_session_token, throttle
from sipflow.security.limits import limiter
from sipflow.security.login_page import LoginForm
from sipflow.security.password_policy import MAX_LENGTH, new_password_problem
from sipflow.security.passwords import hash_password, needs_rehash, verify_password
from sipflow.security.redaction import redact
from sipflow.translated import lazy_gettext as _l

bp = Blueprint("auth", __name__)

# Unicode categories a next address may not hold: control, format (zero-width), private, unassigned
# characters and every kind of space or line separator.
_REFUSED_CATEGORIES = ("C", "Z")


def _new_password_twice() -> tuple[PasswordField, PasswordField]:
    """The new password and the same again, the two fields of every form that sets one (made in this order,
    after the form's own fields, so each form keeps its order)."""
    new_password = PasswordField(
        _l("New password"),
        description=_l("At least 12 characters. A few words in a row make a good password."),
        validators=[DataRequired(), MaxLength(MAX_LENGTH)],
    )
    new_password_again = PasswordField(
        _l("New password again"),
        validators=[
            DataRequired(),
            EqualTo("new_password", message=_l("The two new passwords are not the same.")),
        ],
    )
    return new_password, new_password_again


class ChangePasswordForm(PageForm):
    """The current password, and the new one twice."""

    current_password = PasswordField(
        _l("Current password"), validators=[DataRequired(), MaxLength(MAX_LENGTH)]
    )
    new_password, new_password_again = _new_password_twice()


def _loggable(name: str) -> str:
    """A username fit for a log line: no identifier-shaped numbers, no line breaks, bounded length."""
    return repr(redact(name)[:64])


def home_url(user) -> str:
    """Where a user lands after logging in; administrators and coordinators without a unit: their pages."""
    if user.has_role("admin") and user.unit_id is None:
        return url_for("admin.index")
    if user.has_role("coordinator") and user.unit_id is None:
        return url_for("stats.dashboard")
    return url_for("todo.index")


def local_target(target: str | None) -> str | None:
    """target when it is a path on this site, also after Werkzeug normalises the Location; else None."""
    # An open redirect would let a phishing link borrow sipflow's login page. Refuse rather than clean:
    # Werkzeug (urlsplit) silently drops tabs and line breaks, so "/\t/evil.example" would become
    # "//evil.example"; a CR or LF would break the header. A backslash is refused too (browsers read
    # it as "/").
    if not target or len(target) > 2000 or "\\" in target:
        return None
    if any(unicodedata.category(character)[0] in _REFUSED_CATEGORIES for character in target):
        return None
    for candidate in (target, iri_to_uri(target)):
        parts = urlsplit(candidate)
        # urlsplit reads "///evil.example" as an empty host and the path "/evil.example"; a browser goes
        # to evil.example: so the text itself must start with exactly one slash, not only its path.
        if parts.scheme or parts.netloc or not _one_slash(candidate) or not _one_slash(parts.path):
            return None
    return target


def _one_slash(path: str) -> bool:
    return path.startswith("/") and not path.startswith("//")


def login_target(target: str | None) -> str | None:
    """target when the login may lead on to it: a local address (`local_target`) that a GET opens.

    An address only a form is sent to (a POST-only route: an old bookmark, a `next` made by hand) would
    answer the browser's GET with 405, so the login leads to the start page instead.
    """
    target = local_target(target)
    if target is None:
        return None
    adapter = current_app.create_url_adapter(request)
    try:
        adapter.match(unquote(urlsplit(iri_to_uri(target)).path), method="GET")
    except MethodNotAllowed:
        return None
    except (HTTPException, RoutingException):  # not found (its 404 says so), a slash added: a GET's answer
        return target
    return target


def _safe_next(target: str | None, user) -> str:
    return login_target(target) or home_url(user)


def start_session(user: User) -> None:
    """A new session for user: nothing set before authentication survives; the page is in their language.

    That is the user's stored language, unless they chose another on the way to logging in (in this
    session: a language left from a session that timed out may have been someone else's); that choice is
    stored, as a switch while logged in would be.
    """
    chosen = chosen_language()
    if chosen is not None and chosen != user.language:
        db = get_session()
        with unit_of_work(db):
            set_user_language(db, user, chosen)
    clear_session_keeping_language()
    session["lang"] = language_or_default(user.language)
    now = now_utc().timestamp()
    # login_at bounds the session's whole life, seen its idle time (both checked in sipflow.security).
    session["login_at"] = now
    session["seen"] = now
    login_user(user)


def _login_page_url(next_url: str | None) -> str:
    """The login page's own address, with where it leads: its language switch keeps that."""
    return url_for("auth.login", next=next_url)


def _throttled_page(template: str, form_class, refusal: throttle.Refusal):
    """The form again with the reason it was refused, as 429 (not a bare error page)."""
    next_url = login_target(request.args.get("next"))
    response = make_response(
        render_template(
            template,
            form=form_class(),
            throttled=True,
            wait_minutes=refusal.wait_minutes,
            next_url=next_url,
            page_url=_login_page_url(next_url) if request.endpoint == "auth.login" else None,
        ),
        429,
    )
    response.headers["Retry-After"] = str(refusal.wait_seconds)
    return response


def _policy() -> throttle.Policy:
    return throttle.Policy.from_config(current_app.config)


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Show the login form and log the user in (throttled per address, per username and address)."""
    if current_user.is_authenticated:
        return redirect(home_url(current_user))
    form = LoginForm()
    if form.validate_on_submit():
        db = get_session()
        typed = form.username.data.strip()
        attempt = throttle.admit(
            db,
            scope=throttle.LOGIN,
            username_key=throttle.username_key(typed),
            address_key=throttle.address_key(request.remote_addr),
            policy=_policy(),
        )
        if isinstance(attempt, throttle.Refusal):
            current_app.logger.warning("login throttled: too many failed attempts (%s)", attempt.rule)
            return _throttled_page("auth/login.html", LoginForm, attempt)
        user = find_user_by_username(db, typed)
        password_ok = verify_password(user.password_hash if user else None, form.password.data)
        if user is not None and password_ok and user.active:
            throttle.forgive(db, attempt)
            with unit_of_work(db):
                if needs_rehash(user.password_hash):
                    user.password_hash = hash_password(form.password.data)
                user.last_login_at = now_utc()
                db.add(user)
            start_session(user)
            current_app.logger.info("login succeeded for %s", _loggable(user.username))
            return redirect(_safe_next(request.args.get("next"), user))
        # Anything else leaves the attempt's row as a failure.
        if user is not None and password_ok:
            current_app.logger.warning("login refused: account %s is disabled", _loggable(user.username))
            form.password.errors.append(_l("This account is disabled. Contact your administrator."))
        else:
            # An unknown name is not logged: it is often a password or a personnummer typed in the wrong box.
            who = _loggable(user.username) if user is not None else "an unknown username"
            current_app.logger.warning("login failed for %s", who)
            form.password.errors.append(_l("Wrong username or password."))
    next_url = login_target(request.args.get("next"))
    page_url = _login_page_url(next_url)
    return render_template("auth/login.html", form=form, next_url=next_url, page_url=page_url)


@bp.post("/logout")
@login_required
def logout():
    """End this and every other session of the user."""
    db = get_session()
    user = db.get(User, current_user.id)
    with unit_of_work(db):
        renew_session_token(user)
        db.add(user)
    current_app.logger.info("logout of %s", _loggable(user.username))
    logout_user()
    session.clear()
    flash(_l("You are logged out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/password", methods=["GET", "POST"])
@login_required
def change_password():
    """Change the password; every other session of the user ends, this one is renewed."""
    form = ChangePasswordForm()
    if form.validate_on_submit():
        db = get_session()
        user = db.get(User, current_user.id)
        attempt = throttle.admit(
            db,
            scope=throttle.PASSWORD_CHANGE,
            username_key=throttle.user_key(user.id),
            address_key=throttle.address_key(request.remote_addr),
            policy=_policy(),
        )
        if isinstance(attempt, throttle.Refusal):
            current_app.logger.warning("password change throttled for user id %s", user.id)
            return _throttled_page("auth/change_password.html", ChangePasswordForm, attempt)
        if not verify_password(user.password_hash, form.current_password.data):
            current_app.logger.warning(
                "password change refused for %s: wrong password", _loggable(user.username)
            )
            form.current_password.errors.append(_l("The current password is wrong."))
            return render_template("auth/change_password.html", form=form)
        # The current password was right: whatever else is wrong is not a guess.
        throttle.forgive(db, attempt)
        problem = new_password_problem(form.new_password.data, username=user.username)
        if form.new_password.data == form.current_password.data:
            form.new_password.errors.append(_l("The new password must differ from the current one."))
        elif problem is not None:
            form.new_password.errors.append(problem)
        else:
            with unit_of_work(db):
                user.password_hash = hash_password(form.new_password.data)
                renew_session_token(user)
                # A reset link sent earlier would set another password behind this one's back.
                password_links.end_unused_links(db, user, now=now_utc())
                db.add(user)
            start_session(user)
            current_app.logger.info("password changed for %s", _loggable(user.username))
            flash(_l("Your password is changed. Your other sessions have ended."), "success")
            return redirect(home_url(user))
    return render_template("auth/change_password.html", form=form)


class SetPasswordForm(PageForm):
    """The new password, twice (through a set-password link)."""

    new_password, new_password_again = _new_password_twice()


# How a refused set-password link is answered: 404 when it names nothing, 410 when it no longer works.
LINK_REFUSAL_STATUS = {"tampered": 404, "used": 410, "expired": 410, "disabled": 410}
# Refused links from one address: a link is mistyped by its owner a few times at most; more is someone
# guessing tokens. Only refusals count: a whole office behind one address setting its passwords through
# their own links on the day they are invited is never refused (a link works once, so it is no flood).
SET_PASSWORD_LIMIT = "30 per hour"


def _link_refused(response) -> bool:
    return response.status_code in LINK_REFUSAL_STATUS.values()


def _link_page(html, status: int = 200):
    # The token is in the address: the security headers of every response (no Referer, no cache, no
    # search engine) keep it from going further.
    return html, status


def _refused_link(refusal: password_links.LinkRefused):
    current_app.logger.info("set-password link refused (%s)", refusal.code)
    html = render_template("auth/set_password_refused.html", code=refusal.code)
    return _link_page(html, LINK_REFUSAL_STATUS[refusal.code])


@bp.route("/set-password/<token>", methods=["GET", "POST"])
@limiter.limit(SET_PASSWORD_LIMIT, deduct_when=_link_refused)
def set_password(token: str):
    """Choose a password through a one-time set-password link (an invitation or a reset); then logged in."""
    db = get_session()
    try:
        link, user = password_links.find_link(db, token, now=now_utc())
    except password_links.LinkRefused as refusal:
        return _refused_link(refusal)
    # The link's page speaks the user's language (their mail did), unless this browser chose one (?lang=).
    with force_locale(chosen_language() or language_or_default(user.language)):
        return _set_password_page(db, token, link, user)


def _set_password_page(db, token: str, link, user: User):
    """The set-password form of a link that works (and its post): the password set, or the form again."""
    form = SetPasswordForm()
    if form.validate_on_submit():
        problem = new_password_problem(form.new_password.data, username=user.username)
        if problem is not None:
            form.new_password.errors.append(problem)
        else:
            try:
                with unit_of_work(db):
                    user = password_links.set_password_with_link(
                        db, token, form.new_password.data, now=now_utc()
                    )
            except password_links.LinkRefused as refusal:
                return _refused_link(refusal)
            if current_user.is_authenticated:
                logout_user()
            start_session(user)
            current_app.logger.info("password set through a link for %s", _loggable(user.username))
            flash(_l("Your password is set. You are logged in."), "success")
            return redirect(home_url(user))
    html = render_template(
        "auth/set_password.html",
        form=form,
        token=token,
        invite=link.purpose == password_links.INVITE,
        user=user,
    )
    return _link_page(html, 400 if request.method == "POST" else 200)
