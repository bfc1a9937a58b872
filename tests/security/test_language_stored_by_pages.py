"""?lang= is stored as a logged-in user's language only when a page of the application is shown with it: a
static file, the health check, the calendar feed or an error page asked with it change nothing stored (the
user's mail would switch language)."""

from __future__ import annotations

import pytest
from webkit import login, text_of

from sipflow.people.models import User


def _language(db_session, user: User) -> str:
    db_session.expire_all()
    return db_session.get(User, user.id).language


def _feed_path(client) -> str:
    page = text_of(client.get("/account/calendar"))
    start = page.index('value="http') + len('value="')
    url = page[start : page.index('"', start)]
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


@pytest.fixture
def logged_in(client, parties):
    assert login(client, parties.region_user.username).status_code == 302
    return client


@pytest.mark.parametrize(
    ("address", "status"),
    [
        ("/static/style.css", 200),
        ("/healthz", 200),
        ("/no-such-page", 404),
        ("/cases/no-such-case", 404),
        ("/logout", 405),
    ],
)
def test_lang_on_anything_but_a_page_changes_nothing_stored(logged_in, db_session, parties, address, status):
    response = logged_in.get(address, query_string={"lang": "en"})
    assert response.status_code == status
    assert _language(db_session, parties.region_user) == "sv"


def test_lang_on_the_calendar_feed_changes_nothing_stored(logged_in, db_session, parties):
    path = _feed_path(logged_in)
    response = logged_in.get(path, query_string={"lang": "en"})
    assert response.status_code == 200 and response.mimetype == "text/calendar"
    assert _language(db_session, parties.region_user) == "sv"


def test_lang_on_a_page_is_stored_and_the_page_is_in_that_language(logged_in, db_session, parties):
    # The session's language follows ?lang= wherever it was asked: the error page was in English too.
    assert '<html lang="en">' in text_of(logged_in.get("/no-such-page?lang=en"))
    assert _language(db_session, parties.region_user) == "sv"
    page = logged_in.get("/cases?lang=en")
    assert page.status_code == 200 and '<html lang="en">' in text_of(page)
    assert _language(db_session, parties.region_user) == "en"
