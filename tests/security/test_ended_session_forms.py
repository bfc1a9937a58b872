"""A request that arrives without a session goes to the login page by one rule (`security.send_to_login`):
a GET leads on to its page after the login; a form sent after its session ended (a logout in another
browser, a timeout, an administrator) is not sent: the answer is the login page, saying why and that the
form was not sent, showing back what was typed (in that answer only), and leading on to the form's page.
The login never leads on to an address only a form is sent to (a 405)."""

from __future__ import annotations

from urllib.parse import parse_qs, quote, urlsplit

import pytest
from sqlmodel import select
from webkit import TEST_PASSWORD, FreshContextClient, csrf_token, fill, forms_of, login, text_of

from sipflow.cases.models import Participant

FORM_NOT_SENT = "Formuläret skickades inte. Logga in och skicka det igen."
SESSION_ENDED = "Du är inte inloggad längre: din session avslutades av en utloggning i ett annat fönster"
NOT_LOGGED_IN = "Du är inte inloggad längre."
KEPT = "Det du fyllde i"


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


def _shows_what_was_typed_and_leads_back(app, db_session, parties, b, case, sent) -> str:
    """sent is the login page: it shows what was typed (not the hidden fields), leads on to the case page
    after the login, and keeps nothing for later."""
    assert sent.status_code == 200 and sent.headers["Cache-Control"] == "no-store"
    text = text_of(sent)
    assert FORM_NOT_SENT in text and KEPT in text
    assert "Test Person" in text and "bror" in text
    login_action = next(action for action in forms_of(text) if action.startswith("/login"))
    assert parse_qs(urlsplit(login_action).query)["next"] == [f"/cases/{case.uid}"]
    assert "Test Person" not in text_of(b.get("/login"))  # shown in that answer only
    logged_in = _log_in_at(b, login_action, parties.region_user.username)
    assert logged_in.headers["Location"] == f"/cases/{case.uid}"
    assert _added(db_session, case) == []  # not sent
    return text


def test_a_form_sent_after_a_logout_elsewhere_shows_what_was_typed_and_leads_back_to_its_page(
    app, db_session, parties, two_sessions
):
    a, b, case, action, form = two_sessions
    assert _log_out(a).status_code == 302
    text = _shows_what_was_typed_and_leads_back(app, db_session, parties, b, case, b.post(action, data=form))
    assert SESSION_ENDED in text


def test_a_form_sent_after_an_administrator_ended_the_sessions_keeps_what_was_typed(
    app, db_session, parties, two_sessions
):
    from sipflow.people.models import User
    from sipflow.security import renew_session_token

    _a, b, case, action, form = two_sessions
    user = db_session.get(User, parties.region_user.id)
    renew_session_token(user)  # as ending the user's sessions at /admin/users/<id>/sessions/end does
    db_session.add(user)
    db_session.commit()
    text = _shows_what_was_typed_and_leads_back(app, db_session, parties, b, case, b.post(action, data=form))
    assert SESSION_ENDED in text and "Din session hade tagit slut" not in text


def test_what_a_form_sent_without_a_session_shows_back_is_escaped_and_never_a_token_or_hidden_field(
    parties, two_sessions
):
    a, b, _case, action, form = two_sessions
    assert _log_out(a).status_code == 302
    form["private-relation"] = "<script>alert(1)</script>"
    form["new_password"] = "hemligt-lösenord"
    form["version"] = "48151623"
    sent = b.post(action, data=form)
    html = sent.get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "hemligt-lösenord" not in html and "48151623" not in html
    # The card of what was typed (the login form's own token may be the same text: one session, one second).
    card = html[html.index('id="h-kept-input"') : html.index("</section>", html.index('id="h-kept-input"'))]
    assert "Test Person" in card
    tokens = [value for key, value in form.items(multi=True) if key.endswith("csrf_token")]
    assert tokens and not any(token in card for token in tokens)


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


def test_a_form_sent_after_a_timeout_says_why_and_keeps_what_was_typed(
    app, db_session, parties, two_sessions
):
    _a, b, case, action, form = two_sessions
    with b.session_transaction() as session:
        session["seen"] -= app.config["SESSION_IDLE_MINUTES"] * 60 + 5
    text = _shows_what_was_typed_and_leads_back(app, db_session, parties, b, case, b.post(action, data=form))
    assert "Du loggades ut efter en stunds inaktivitet." in text and SESSION_ENDED not in text


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
    app = b.application
    assert _log_out(b).status_code == 302
    text = _shows_what_was_typed_and_leads_back(app, db_session, parties, b, case, b.post(action, data=form))
    assert NOT_LOGGED_IN in text and SESSION_ENDED not in text and "Formuläret har gått ut" not in text


def test_a_form_of_a_page_open_without_a_login_keeps_the_expired_form_page(client, parties):
    # The login page's own form, its token gone with the session: nothing to log in to first.
    sent = client.post("/login", data={"csrf_token": "gone", "username": parties.region_user.username})
    assert sent.status_code == 400 and "Formuläret har gått ut" in text_of(sent)
