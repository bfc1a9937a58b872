"""A staff member's language is stored: switching the page language keeps it, a login restores it."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from webkit import TEST_PASSWORD, FreshContextClient, csrf_token, login, text_of

from sipflow.errors import InvalidInput
from sipflow.i18n import LOCALES, checked_language
from sipflow.people.models import User


def _language(db_session, user: User) -> str:
    db_session.expire_all()
    return db_session.get(User, user.id).language


def _logout(client) -> None:
    page = client.get("/password")
    assert client.post("/logout", data={"csrf_token": csrf_token(text_of(page))}).status_code == 302


def _english(html: str) -> bool:
    return '<html lang="en">' in html and "My SIPs" in html and "Mina SIP" not in html


def test_switching_the_page_language_while_logged_in_is_stored_and_the_next_login_shows_english(
    app, client, db_session, parties
):
    user = parties.region_user
    assert login(client, user.username).status_code == 302
    assert '<html lang="sv">' in text_of(client.get("/"))
    assert _english(text_of(client.get("/?lang=en")))
    assert _language(db_session, user) == "en"
    _logout(client)
    # A new browser: nothing in its session says English, the account does.
    fresh = FreshContextClient(app, app.response_class, use_cookies=True)
    assert '<html lang="sv">' in text_of(fresh.get("/login"))
    assert login(fresh, user.username).status_code == 302
    assert _english(text_of(fresh.get("/")))
    # Switching back is stored too.
    fresh.get("/?lang=sv")
    assert _language(db_session, user) == "sv"


def test_a_language_left_by_a_timed_out_session_does_not_override_the_next_users_own(
    app, client, db_session, parties
):
    assert login(client, parties.region_user.username).status_code == 302
    client.get("/?lang=en")
    with client.session_transaction() as session:
        session["seen"] -= app.config["SESSION_IDLE_MINUTES"] * 60 + 5
    client.get("/")  # the session ends; the login page stays in English
    assert "You were logged out after a period of inactivity." in text_of(client.get("/login"))
    assert login(client, parties.municipality_user.username).status_code == 302
    assert '<html lang="sv">' in text_of(client.get("/"))
    assert _language(db_session, parties.municipality_user) == "sv"


def test_a_language_chosen_on_the_login_page_is_kept_and_stored(client, db_session, parties):
    client.get("/login?lang=en")
    assert login(client, parties.school_user.username).status_code == 302
    assert _english(text_of(client.get("/")))
    assert _language(db_session, parties.school_user) == "en"


@pytest.mark.parametrize("value", ["fi", "EN", "en-GB", "", "sv;drop", "x" * 300])
def test_an_unknown_language_in_the_address_is_ignored_and_nothing_is_stored(
    client, db_session, parties, value
):
    assert login(client, parties.region_user.username).status_code == 302
    response = client.get("/", query_string={"lang": value})
    assert response.status_code == 200 and '<html lang="sv">' in text_of(response)
    assert _language(db_session, parties.region_user) == "sv"


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=12))
def test_only_the_apps_languages_are_accepted(value):
    if value in LOCALES:
        assert checked_language(value) == value
    else:
        with pytest.raises(InvalidInput) as refused:
            checked_language(value, field="language")
        assert refused.value.field == "language"


def _english_link(html: str) -> str:
    """The address of the page's switch to English, as a browser follows it."""
    start = html.index('hreflang="en"')
    href = html.rindex('href="', 0, start) + len('href="')
    return html[href : html.index('"', href)].replace("&amp;", "&")


def test_switching_to_english_on_the_way_to_a_case_still_leads_to_it(client, parties, create_case):
    # The link in an invitation leads to the login page first; switching language there keeps the way on.
    case = create_case()
    to_login = client.get(f"/cases/{case.uid}")
    assert to_login.status_code == 302
    english = client.get(_english_link(text_of(client.get(to_login.headers["Location"]))))
    assert '<html lang="en">' in text_of(english) and f"next=/cases/{case.uid}" in english.request.url
    # A mistyped password first, then the switch: the way on is kept too.
    refused = client.post(
        english.request.url,
        data={"csrf_token": csrf_token(text_of(english)), "username": "nobody", "password": "x" * 12},
    )
    back_to_swedish = _english_link(text_of(refused)).replace("lang=en", "lang=sv")
    page = client.get(back_to_swedish)
    response = client.post(
        back_to_swedish,
        data={
            "csrf_token": csrf_token(text_of(page)),
            "username": parties.region_user.username,
            "password": TEST_PASSWORD,
        },
    )
    assert response.status_code == 302 and response.headers["Location"] == f"/cases/{case.uid}"


def test_a_page_without_an_address_of_its_own_keeps_its_query_in_the_switch(client, parties):
    assert login(client, parties.region_user.username).status_code == 302
    html = text_of(client.get("/cases?state=preparing"))
    assert "state=preparing" in _english_link(html)
