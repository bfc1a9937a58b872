"""No personnummer in the log through an exception: its text, its traceback or a stack dump."""

from __future__ import annotations

import logging
from datetime import date

import pytest
from support import personnummer_in, valid_personnummer

from sipflow import create_app
from sipflow.security.redaction import REDACTED, RedactingFilter

PNR = valid_personnummer(date(1984, 3, 9), 512)


@pytest.fixture
def failing_app(tmp_path):
    """An app like the test app, with a page that fails quoting a personnummer, errors logged not raised."""
    app = create_app(
        {
            "ENV_NAME": "testing",
            "TESTING": True,
            "PROPAGATE_EXCEPTIONS": False,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'boom.sqlite3'}",
            "SECRET_KEY": "test-secret-key-0123456789",
            "OUTBOX_DIR": str(tmp_path),
        }
    )

    @app.get("/boom")
    def boom():
        value = PNR
        raise ValueError(f"could not read {value!r}")

    yield app
    app.extensions["sipflow.engine"].dispose()


def test_an_unhandled_error_is_logged_without_the_personnummer(failing_app, caplog):
    caplog.set_level(logging.ERROR)
    response = failing_app.test_client().get("/boom")
    assert response.status_code == 500
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors, "the error was not logged at all, so the check would prove nothing"
    assert "ValueError" in caplog.text and REDACTED in caplog.text
    assert PNR not in caplog.text and personnummer_in(caplog.text.splitlines()) == []


@pytest.mark.parametrize("name", ["werkzeug", "sipflow", "sipflow.cases.services", "gunicorn.error"])
def test_exceptions_and_stacks_logged_by_the_server_and_the_app_are_redacted(failing_app, caplog, name):
    caplog.set_level(logging.INFO)
    logger = logging.getLogger(name)
    try:
        raise RuntimeError(f"identifier {PNR} refused")
    except RuntimeError:
        logger.exception("Error on request")
    logger.info("a stack with %s", "no secret", stack_info=True)
    assert "RuntimeError" in caplog.text and "Stack (most recent call last)" in caplog.text
    # The stack names this test's source line, which holds no personnummer; the exception text does.
    assert PNR not in caplog.text


def test_the_filter_redacts_exception_text_and_stack_of_a_record():
    try:
        raise KeyError(PNR)
    except KeyError:
        import sys

        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", None, sys.exc_info())
    record.stack_info = f"Stack (most recent call last):\n  lookup({PNR})"
    RedactingFilter().filter(record)
    text = logging.Formatter().format(record)
    assert PNR not in text and "KeyError" in text and text.count(REDACTED) == 2


def test_an_unhandled_error_shows_the_apps_own_page_in_the_users_language(failing_app):
    client = failing_app.test_client()
    response = client.get("/boom")
    assert response.status_code == 500
    page = response.get_data(as_text=True)
    assert "Något gick fel" in page and "Internal Server Error" not in page
    assert PNR not in page and "ValueError" not in page
    assert response.headers["Content-Security-Policy"]
    english = client.get("/boom?lang=en").get_data(as_text=True)
    assert "Something went wrong" in english and PNR not in english


# What psycopg's errors say on PostgreSQL (copied from real ones): hide_parameters hides the statement's
# values, but the server's DETAIL quotes the failing row or key, with whatever names and addresses it held.
NOT_NULL = (
    '(psycopg.errors.NotNullViolation) null value in column "home_municipality_code" of relation "person" '
    "violates not-null constraint\nDETAIL:  Failing row contains (7, personnummer, [personnummer], "
    "4f2a, Mikael, Johansson, 1982-04-09, M, null).\n[SQL: INSERT INTO person ...]\n"
    "[SQL parameters hidden due to hide_parameters=True]"
)
UNIQUE = (
    '(psycopg.errors.UniqueViolation) duplicate key value violates unique constraint "uq_user_email"\n'
    "DETAIL:  Key (lower(email::text))=(mikael.johansson@example.se) already exists.\n"
    "[SQL parameters hidden due to hide_parameters=True]"
)


@pytest.mark.parametrize("text", [NOT_NULL, UNIQUE])
def test_a_database_errors_detail_is_logged_without_the_values_it_quotes(failing_app, caplog, text):
    """A database error in a traceback on PostgreSQL carried the person's name or an address in its DETAIL
    line, though the engine hides statement parameters so that no database error in the log does."""
    caplog.set_level(logging.ERROR)
    try:
        raise RuntimeError(text)
    except RuntimeError:
        logging.getLogger("sipflow").exception("Exception on /cases [POST]")
    assert "DETAIL:" in caplog.text and "violat" in caplog.text  # what failed is still told
    for value in ("Mikael", "Johansson", "mikael.johansson@example.se", "1982-04-09"):
        assert value not in caplog.text
