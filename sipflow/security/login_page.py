"""The login page's form, and the login page that answers a form sent after its session ended."""

from __future__ import annotations

from flask import current_app, render_template, request, url_for
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired

from sipflow.forms import PageForm, typed_in_request
from sipflow.lengths import MaxLength
from sipflow.security.password_policy import MAX_LENGTH
from sipflow.translated import lazy_gettext as _l


class LoginForm(PageForm):
    """Username and password."""

    username = StringField(_l("Username"), validators=[DataRequired(), MaxLength(64)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), MaxLength(MAX_LENGTH)])


def form_page(path: str) -> str | None:
    """The page a form sent to path was on: path itself when a GET opens it, else the nearest address
    above it that a GET opens (/cases/x/participants/private: /cases/x); None when there is none but "/"."""
    adapter = current_app.create_url_adapter(request)
    parts = path.rstrip("/").split("/")
    for end in range(len(parts), 1, -1):
        candidate = "/".join(parts[:end])
        try:
            adapter.match(candidate, method="GET")
        except RequestRedirect:
            return candidate
        except HTTPException:
            continue
        return candidate
    return None


def form_not_sent_page():
    """The login page as the answer to the form this request sent without a session: it leads, after the
    login, to the form's page, and shows back what was typed into the form's text fields to copy.

    What was typed is in this answer only (no-store, as every page): never kept in the session, put in an
    address or logged.
    """
    next_url = form_page(request.path)
    return render_template(
        "auth/login.html",
        form=LoginForm(formdata=None),
        next_url=next_url,
        page_url=url_for("auth.login", next=next_url),
        kept_input=typed_in_request(request.form),
    )
