"""While the database cannot be reached, a page answers 503 saying so, in the session's language, with what
the user typed kept to copy: not the error page's 500 ("an error in sipflow"), and one log record."""

from __future__ import annotations

import logging
import re

from flask_login.utils import _create_identifier
from sqlalchemy import exc as sa_exc

from sipflow import create_app
from sipflow.cases.views import database_unreachable

DOWN = {
    "ENV_NAME": "testing",
    # Nothing listens on port 1: the connection is refused at once.
    "DATABASE_URL": "postgresql+psycopg://nobody:secret@127.0.0.1:1/none",
    "SECRET_KEY": "test-secret-key-0123456789",
}
UNAVAILABLE_SV = "sipflow kunde inte nå sin databas"


def _token(page: str) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


def test_a_login_sent_while_the_database_is_down_is_told_so_and_keeps_the_username(caplog):
    client = create_app(DOWN).test_client()
    page = client.get("/login").get_data(as_text=True)
    with caplog.at_level(logging.ERROR):
        response = client.post(
            "/login",
            data={"csrf_token": _token(page), "username": "kerstin.nord", "password": "hemligt-lösen"},
        )
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "30"
    text = response.get_data(as_text=True)
    assert UNAVAILABLE_SV in text
    assert "kerstin.nord" in text  # what was typed, to copy
    assert "hemligt-lösen" not in text  # never a password
    assert "secret" not in text
    failures = [r for r in caplog.records if "could not be reached" in r.getMessage()]
    assert len(failures) == 1


def test_a_logged_in_page_while_the_database_is_down_answers_in_the_sessions_language():
    """The session's user is looked up in the database first: the page needs neither user nor menu."""
    app = create_app(DOWN)
    client = app.test_client()
    with app.test_request_context(environ_base=client.environ_base):
        identifier = _create_identifier()
    with client.session_transaction() as session:
        session.update(_user_id="a-session-token", _fresh=True, _id=identifier, lang="en")
    response = client.get("/cases")
    assert response.status_code == 503
    text = response.get_data(as_text=True)
    assert "sipflow could not reach its database" in text
    assert '<html lang="en">' in text


def test_a_statement_at_fault_is_no_outage():
    """A database error that is sipflow's own (a column missing after a skipped upgrade) stays a 500."""
    wrong = sa_exc.OperationalError("SELECT x FROM y", {}, Exception("no such column: x"))
    gone = sa_exc.OperationalError("SELECT 1", {}, Exception("connection refused"))
    assert not database_unreachable(wrong)
    assert database_unreachable(gone)
