"""A request that arrives without a session goes to the login page by one rule (`security.send_to_login`):
a GET leads on to its page after the login; a form sent after its session ended (a logout in another
browser, a timeout) is not sent again: the login leads to the start page and says the form was not sent.
The login never leads on to an address only a form is sent to (a 405)."""

from __future__ import annotations

from urllib.parse import parse_qs, quote, urlsplit

import pytest
from sqlmodel import select
from webkit import TEST_PASSWORD, FreshContextClient, csrf_token, fill, forms_of, login, text_of

from sipflow.cases.models import Participant

FORM_NOT_SENT = "Din session hade tagit slut, så formuläret skickades inte. Logga in och fyll i det igen."


@pytest.fixture
def new_client(app):
    def make() -> FreshContextClient:
        return FreshContextClient(app, app.response_class, use_cookies=True)

    return make


def _log_out(client):
    page = client.get("/")
    return client.post("/logout", data={"csrf_token": csrf_token(text_of(page))})


def _log_in_at(client, login_address: str, username: str):
    page = client.get(login_address)
    return client.post(
        login_address,
        data={"csrf_token": csrf_token(text_of(page)), "username": username, "password": TEST_PASSWORD},
    )


def _home(app) -> str:
    with app.test_request_context():
        from flask import url_for

        return url_for("todo.index")


@pytest.fixture
def two_sessions(new_client, parties, create_case):
    """Sessions A and B of one user; B has the case page open with the närstående form filled in."""
    a, b = new_client(), new_client()
    assert login(a, parties.region_user.username).status_code == 302
    assert login(b, parties.region_user.username).status_code == 302
    case = create_case()
    url = f"/cases/{case.uid}"
    action = f"{url}/participants/private"
    form = fill(
        forms_of(text_of(b.get(url)))[action],
        **{"private-kind": "narstaende", "private-name": "Test Person", "private-relation": "bror"},
    )
    return a, b, case, action, form


def _added(db_session, case) -> list[Participant]:
    db_session.expire_all()
    return db_session.exec(
        select(Participant).where(Participant.case_id == case.id, Participant.name == "Test Person")
    ).all()


def test_a_form_sent_after_a_logout_elsewhere_leads_through_the_login_to_the_start_page(
    app, db_session, parties, two_sessions
):
    a, b, case, action, form = two_sessions
    assert _log_out(a).status_code == 302
    sent = b.post(action, data=form)
    assert sent.status_code == 302 and sent.headers["Location"] == "/login"
    page = b.get("/login")
    assert FORM_NOT_SENT in text_of(page) and "next=" not in page.request.url
    logged_in = _log_in_at(b, "/login", parties.region_user.username)
    assert logged_in.headers["Location"] == _home(app)
    assert b.get(logged_in.headers["Location"]).status_code == 200
    assert _added(db_session, case) == []  # not sent, and not kept for later


def test_a_page_opened_after_a_logout_elsewhere_still_leads_on_after_the_login(parties, two_sessions):
    a, b, case, _action, _form = two_sessions
    assert _log_out(a).status_code == 302
    opened = b.get(f"/cases/{case.uid}?tab=1")
    location = urlsplit(opened.headers["Location"])
    assert location.path == "/login" and parse_qs(location.query)["next"] == [f"/cases/{case.uid}?tab=1"]
    assert FORM_NOT_SENT not in text_of(b.get(opened.headers["Location"]))
    again = _log_in_at(b, opened.headers["Location"], parties.region_user.username)
    assert again.headers["Location"] == f"/cases/{case.uid}?tab=1"


def test_logging_out_of_a_session_that_ended_elsewhere_says_logged_out(parties, two_sessions):
    a, b, _case, _action, _form = two_sessions
    page = b.get("/")
    assert _log_out(a).status_code == 302
    sent = b.post("/logout", data={"csrf_token": csrf_token(text_of(page))})
    assert sent.status_code == 302 and sent.headers["Location"] == "/login"
    text = text_of(b.get("/login"))
    assert "Du är utloggad." in text and FORM_NOT_SENT not in text


def test_a_form_sent_after_a_timeout_says_why_and_that_it_was_not_sent(
    app, db_session, parties, two_sessions
):
    _a, b, case, action, form = two_sessions
    with b.session_transaction() as session:
        session["seen"] -= app.config["SESSION_IDLE_MINUTES"] * 60 + 5
    sent = b.post(action, data=form)
    assert sent.status_code == 302 and sent.headers["Location"] == "/login"
    text = text_of(b.get("/login"))
    assert "Du loggades ut efter en stunds inaktivitet." in text and FORM_NOT_SENT in text
    assert _log_in_at(b, "/login", parties.region_user.username).headers["Location"] == _home(app)
    assert _added(db_session, case) == []


@pytest.mark.parametrize("target", ["/logout", "/cases/{uid}/participants/private"])
def test_the_login_never_leads_on_to_an_address_only_a_form_is_sent_to(
    app, client, parties, create_case, target
):
    target = target.format(uid=create_case().uid)
    login_address = "/login?next=" + quote(target, safe="")
    assert f'action="/login?next={quote(target, safe="")}"' not in text_of(client.get(login_address))
    logged_in = _log_in_at(client, login_address, parties.region_user.username)
    assert logged_in.headers["Location"] == _home(app)
    assert client.get(logged_in.headers["Location"]).status_code == 200


def test_the_login_leads_on_to_a_page_a_get_opens(app, client, parties, create_case):
    target = f"/cases/{create_case().uid}"
    logged_in = _log_in_at(client, "/login?next=" + quote(target, safe=""), parties.region_user.username)
    assert logged_in.headers["Location"] == target


def test_a_form_sent_after_a_logout_in_another_tab_of_the_browser_leads_to_the_login(
    db_session, parties, two_sessions
):
    # The logout empties this browser's session, its CSRF token too: the form is refused as sent without a
    # session (the login notice), not as an expired form.
    _a, b, case, action, form = two_sessions
    assert _log_out(b).status_code == 302
    sent = b.post(action, data=form)
    assert sent.status_code == 302 and sent.headers["Location"] == "/login"
    text = text_of(b.get("/login"))
    assert FORM_NOT_SENT in text and "Formuläret har gått ut" not in text
    assert _added(db_session, case) == []


def test_a_form_of_a_page_open_without_a_login_keeps_the_expired_form_page(client, parties):
    # The login page's own form, its token gone with the session: nothing to log in to first.
    sent = client.post("/login", data={"csrf_token": "gone", "username": parties.region_user.username})
    assert sent.status_code == 400 and "Formuläret har gått ut" in text_of(sent)
