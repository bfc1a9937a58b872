"""Login, sessions, CSRF, login throttling and security headers."""

from __future__ import annotations

import functools
import secrets

from flask import Flask, after_this_request, current_app, flash, g, redirect, request, session, url_for
from flask_login import LoginManager, current_user, logout_user
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import String, bindparam
from sqlmodel import select
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.exceptions import BadRequest
from werkzeug.middleware.proxy_fix import ProxyFix

from sipflow.clock import now_utc
from sipflow.db import get_session
from sipflow.translated import lazy_gettext as _l

CLOCK_SKEW_SECONDS = 300

login_manager = LoginManager()
csrf = CSRFProtect()

# No inline script anywhere: the pages work without JavaScript.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)


# Every request body is bounded by the config's MAX_CONTENT_LENGTH (sipflow.config); a view that takes more
# says so with `allow_body`. The attribute `allow_body` sets on a view function.
_MAX_BODY_ATTRIBUTE = "sipflow_max_body"
# Form bodies: the only ones the NUL check reads (reading another kind would touch the stream a view reads;
# a view that reads its own, `allow_body`, is left its body whatever its kind).
_FORM_MIMETYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})


def allow_body(max_bytes: int):
    """Let the decorated view take a body of up to max_bytes (else the config's MAX_CONTENT_LENGTH), which
    it reads itself as the bytes sent (request.stream): nothing before it parses the body as a form, whatever
    Content-Type the sender gave it (`curl --data-binary` labels any body a urlencoded form).

    Put it right under the route decorator; a larger body answers 413 before anything reads it.
    """

    def mark(view):
        setattr(view, _MAX_BODY_ATTRIBUTE, max_bytes)
        return view

    return mark


# flask.g key: the signed-in user's unit and organisation, held for the request (sipflow.web.hold_actor_unit).
ACTOR_UNIT = "sipflow_actor_unit"


# The endpoint of /healthz (sipflow/__init__.py), which answers without looking the session's user up.
HEALTH_CHECK = "healthz"


@functools.cache
def _user_by_token():
    """The user of a session token with their unit and its organisation (built once, on first use)."""
    from sipflow.people.models import Organisation, Unit, User

    return (
        select(User, Unit, Organisation)
        .outerjoin(Unit, Unit.id == User.unit_id)
        .outerjoin(Organisation, Organisation.id == Unit.organisation_id)
        .where(User.session_token == bindparam("token", type_=String))
    )


@login_manager.user_loader
def _load_user(token: str):
    # Nearly every page shows or checks the user's unit and organisation: they come in the same statement.
    row = get_session().exec(_user_by_token(), params={"token": token}).first()
    if row is None or not row[0].active:
        return None
    user, unit, organisation = row
    if unit is not None and organisation is not None:
        g.setdefault(ACTOR_UNIT, (unit, organisation))
    return user


def renew_session_token(user) -> None:
    """Give user a new session token: get_id() returns it, so every session of the user ends, copies too."""
    user.session_token = secrets.token_urlsafe(32)


def clear_session_keeping_language() -> None:
    """Empty the session cookie; only the language choice survives."""
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang


# Said on the login page when a form (any request but a GET or HEAD) came in without a session: it was not
# sent; the login page shows back what was typed into it and leads on to its page (`login_page`).
FORM_NOT_SENT = _l("The form was not sent. Log in and send it again.")
# Why there is no session, when the app can tell: the cookie names a session token no user has any more (a
# logout elsewhere, a new password, an administrator who ended the sessions, changed or disabled the
# account: each gives the user a new token, `renew_session_token`); else there is nothing to tell by.
SESSION_ENDED = _l(
    "You are no longer logged in: your session was ended by a logout in another window or browser, "
    "a new password, or an administrator's change to your account."
)
NOT_LOGGED_IN = _l("You are no longer logged in.")
# The methods that only read: a request of one of them may be asked again after the login.
_READING_METHODS = frozenset({"GET", "HEAD"})


def send_to_login(message=None):
    """The one way a request that arrives without a session is sent to the login page.

    A GET (or HEAD: a link from a mail, a bookmark) is where the login leads on to (`next`; the login
    checks it is local and opens with a GET, `views.login_target`), with message, else "Log in to
    continue.". A form sent (any other method) is not sent again: the answer is the login page itself,
    saying why (message, else what the session cookie tells), that the form was not sent, and what was
    typed into it, to copy; the login leads on to the form's page (`login_page.form_not_sent_page`). A
    logout whose session had ended is done: the login page says so.
    """
    if request.endpoint == "auth.logout":
        # Logging out of a session that had ended already: what was asked for is done, nothing was lost.
        flash(message or _l("You are logged out."), "info")
        return redirect(url_for("auth.login"))
    if request.method in _READING_METHODS:
        flash(message or login_manager.login_message, "info")
        wanted = request.endpoint != "auth.login"
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?") if wanted else None))
    if message is None:
        message = SESSION_ENDED if session.get("_user_id") is not None else NOT_LOGGED_IN
    flash(message, "info")
    flash(FORM_NOT_SENT, "warning")
    if request.mimetype not in _FORM_MIMETYPES:
        return redirect(url_for("auth.login"))
    from sipflow.security.login_page import form_not_sent_page  # it builds on the forms, which import this

    return form_not_sent_page()


@login_manager.unauthorized_handler
def _unauthorized():
    """flask-login's answer to a request for a page that needs a login (`login_required`,
    `login_manager.unauthorized()`): a session that ended elsewhere (a logout, a password change, an
    administrator) arrives here too, its user no longer found."""
    return send_to_login()


def _end_session(message):
    """Log out this session only (the user's other sessions have limits of their own) and say why.

    A page its address opens without a login (an answer link, a personal link, a set-password link: a
    `<token>` in the route) is shown, logged out; its token never goes into a login address. Anything else
    goes to the login page as any request without a session does (`send_to_login`).
    """
    logout_user()
    clear_session_keeping_language()
    if _opened_by_token():
        flash(message, "info")
        return None
    return send_to_login(message)


def _opened_by_token() -> bool:
    """True when this request's page is one its address opens without a login: an answer link, a personal
    link, a set-password link (a `<token>` in the route)."""
    return "token" in (request.view_args or {})


def csrf_failed():
    """The answer to a form whose CSRF token was refused, or None for the page saying the form expired.

    Without a logged-in session (the cookie gone or holding no user: a logout in another tab of the same
    browser takes the session's token with it), a form of a page that needs a login is answered as any
    form sent without a session is (`send_to_login`); one of a page that opens without a login (the login
    page, a page its token opens) is not."""
    if current_user.is_authenticated or request.endpoint == "auth.login" or _opened_by_token():
        return None
    return send_to_login()


class NulInRequest(BadRequest):
    """A NUL in the address, a field name or a JSON address's form; the app's error handler answers it (a
    page, or JSON for an API)."""


# flask.g key: the names of the form fields whose NUL characters were taken out before any view ran.
_NUL_FIELDS = "sipflow_nul_fields"
# The refusal at a field that held one: every page form's (sipflow.forms) and every text reader's.
NUL_MESSAGE = _l("The text holds a character that cannot be stored.")


def nul_fields() -> frozenset[str]:
    """The form fields of this request that held a NUL character (taken out of request.form): a form
    refuses each at its field, showing the rest of what was typed."""
    return g.get(_NUL_FIELDS, frozenset())


def _nul_in_address(req) -> bool:
    """True when the path or the query of req holds a NUL character."""
    return "\x00" in req.path or any(
        "\x00" in key or "\x00" in value for key, value in req.args.items(multi=True)
    )


def _is_json_address() -> bool:
    """True when this request is for a registered JSON address (web.register_json_address): its refusals
    are JSON, not pages."""
    return any(matches() for matches, _ in current_app.extensions.get("sipflow.json_addresses", ()))


def _reads_its_own_body() -> bool:
    """True when this request's view reads its body as the bytes sent (`allow_body`): parsing it as a form
    would leave the view an empty stream."""
    view = current_app.view_functions.get(request.endpoint)
    return getattr(view, _MAX_BODY_ATTRIBUTE, None) is not None


def _take_nul_out_of_the_form(req) -> None:
    """A form whose values hold a NUL (pasted text, mostly) reaches its view without them, the fields
    named in nul_fields(); a NUL in a field's name, or in a JSON address's form, is refused (NulInRequest)."""
    if req.mimetype not in _FORM_MIMETYPES or _reads_its_own_body():
        return
    pairs = list(req.form.items(multi=True))
    held = frozenset(key for key, value in pairs if "\x00" in value)
    if any("\x00" in key for key, _ in pairs):
        raise NulInRequest()
    if not held:
        return
    if _is_json_address():
        raise NulInRequest()
    req.form = ImmutableMultiDict([(key, value.replace("\x00", "")) for key, value in pairs])
    req.__dict__.pop("values", None)  # request.values joins the form as read: read it again if asked
    g.setdefault(_NUL_FIELDS, held)


def _store_language(user, chosen: str, response):
    """Store chosen as user's language when response is a page of the application (HTML, not an error)."""
    from sipflow.db import unit_of_work
    from sipflow.people.services import set_user_language

    if response.status_code >= 400 or response.mimetype != "text/html":
        return response
    db = get_session()
    if db.new or db.dirty or db.deleted:
        db.rollback()  # what a view changed outside a unit of work is never written (as at teardown)
    with unit_of_work(db):
        set_user_language(db, user, chosen)
    return response


def init_security(app: Flask) -> None:
    """Attach flask-login, CSRF protection, login throttling, the session limits and the security headers."""
    from sipflow.security.limits import init_limits
    from sipflow.security.passwords import use_cheap_hashing

    if app.config["ENV_NAME"] == "testing":
        # Only ever switched on: a production process never builds a testing app.
        use_cheap_hashing(True)

    proxies = app.config["TRUSTED_PROXIES"]
    if proxies:
        # request.remote_addr (the login throttle's and the public limits' client address) and the
        # scheme as the client used them, read from the headers of the trusted proxies only.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)

    # Registered first: nothing may read the body before its bound is set.
    @app.before_request
    def _bound_the_body():
        """A view that takes a larger body (`allow_body`) raises the bound for its own requests only."""
        view = app.view_functions.get(request.endpoint)
        max_bytes = getattr(view, _MAX_BODY_ATTRIBUTE, None)
        if max_bytes is not None:
            request.max_content_length = max_bytes

    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Log in to continue.")
    login_manager.session_protection = "strong"
    csrf.init_app(app)
    init_limits(app)
    idle_seconds = app.config["SESSION_IDLE_MINUTES"] * 60
    max_seconds = app.config["SESSION_MAX_HOURS"] * 3600

    @app.before_request
    def _session_limits():
        """End a session idle too long (ASVS 7.3.1) or older than its absolute lifetime (7.3.2).

        The health check asks for no user: it answers from the database's state alone, also to a browser
        logged in while the database is down, and a tab polling it keeps no session alive.
        """
        if request.endpoint == HEALTH_CHECK or not current_user.is_authenticated:
            return None
        now = now_utc().timestamp()
        login_at, seen = session.get("login_at"), session.get("seen")
        # A session without the stamps was not made by the login view: it gets no benefit of the doubt.
        # A stamp slightly ahead is another web node's clock, not a forgery (the cookie is signed).
        if not isinstance(login_at, int | float) or not -CLOCK_SKEW_SECONDS <= now - login_at <= max_seconds:
            return _end_session(_l("Your session has reached its maximum length. Log in again."))
        if not isinstance(seen, int | float) or now - seen > idle_seconds:
            return _end_session(_l("You were logged out after a period of inactivity."))
        session["seen"] = now
        return None

    @app.before_request
    def _remember_language():
        """A logged-in user who switches the page language (?lang=) keeps it: pages and mail from now on.

        Stored only once a page of the application is shown with it (`_store_language`): a static file, the
        health check, a download or feed, a 404 or any other error asked with ?lang= change nothing stored
        (the session's language still follows it, `i18n._keep_requested_language`).
        """
        from sipflow.i18n import requested_language

        chosen = requested_language()
        if (
            chosen is None
            or request.method != "GET"
            or request.endpoint in (None, "static", HEALTH_CHECK)
            or not current_user.is_authenticated
            or current_user.language == chosen
        ):
            return None
        after_this_request(functools.partial(_store_language, current_user._get_current_object(), chosen))
        return None

    @app.before_request
    def _refuse_nul():
        """Refuse a NUL in the address; take it out of a form's values, which the form then refuses at their
        fields (sipflow.forms.PageForm) with the rest of the text kept: PostgreSQL stores no NUL."""
        if _nul_in_address(request):
            raise NulInRequest()
        _take_nul_out_of_the_form(request)
        return None

    @app.after_request
    def _security_headers(response):
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        # Nothing here is for search engines: not the login page, not a link page opened from a mail.
        response.headers.setdefault("X-Robots-Tag", "noindex, nofollow")
        if request.endpoint != "static":
            response.headers.setdefault("Cache-Control", "no-store")
        if app.config["ENV_NAME"] == "production":
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        return response
