"""Sessions end when they should: a copied cookie dies with logout, a password change or a disabled account;
idle and absolute limits hold; CSRF is required; cookies and headers are set for a journal system."""

from __future__ import annotations

from datetime import timedelta

import pytest
from webkit import TEST_PASSWORD, FreshContextClient, csrf_token, login, text_of

from sipflow import create_app
from sipflow.security import CONTENT_SECURITY_POLICY

NEW_PASSWORD = "fyra blå fåglar på taket"


@pytest.fixture
def new_client(app):
    """Another browser (or an attacker's): a client with a cookie jar of its own."""

    def make() -> FreshContextClient:
        return FreshContextClient(app, app.response_class, use_cookies=True)

    return make


def session_cookie(client) -> str:
    return client.get_cookie("session").value


def replay(new_client, cookie: str):
    """A copied session cookie, sent from another client."""
    thief = new_client()
    thief.set_cookie("session", cookie)
    return thief.get("/")


def logout(client):
    page = client.get("/")
    return client.post("/logout", data={"csrf_token": csrf_token(text_of(page))})


def is_login_redirect(response) -> bool:
    return response.status_code == 302 and response.headers["Location"].startswith("/login")


# --- A copied cookie ---------------------------------------------------------------------------------------


def test_a_copied_cookie_works_while_the_session_lives(client, new_client, parties):
    assert login(client, parties.region_user.username).status_code == 302
    assert replay(new_client, session_cookie(client)).status_code == 200


def test_a_copied_cookie_is_refused_after_logout(client, new_client, parties):
    assert login(client, parties.region_user.username).status_code == 302
    copied = session_cookie(client)
    assert logout(client).status_code == 302
    assert is_login_redirect(replay(new_client, copied))


def test_logout_ends_the_users_other_sessions_too(new_client, parties):
    laptop, phone = new_client(), new_client()
    assert login(laptop, parties.region_user.username).status_code == 302
    assert login(phone, parties.region_user.username).status_code == 302
    logout(laptop)
    assert is_login_redirect(phone.get("/"))


def test_a_copied_cookie_is_refused_after_a_password_change(client, new_client, parties):
    assert login(client, parties.region_user.username).status_code == 302
    copied = session_cookie(client)
    page = client.get("/password")
    response = client.post(
        "/password",
        data={
            "csrf_token": csrf_token(text_of(page)),
            "current_password": TEST_PASSWORD,
            "new_password": NEW_PASSWORD,
            "new_password_again": NEW_PASSWORD,
        },
    )
    assert response.status_code == 302
    assert is_login_redirect(replay(new_client, copied))
    # The session that changed the password goes on, with a new cookie.
    assert client.get("/").status_code == 200
    assert session_cookie(client) != copied


def _admin_post(admin_client, url: str):
    page = admin_client.get("/admin/users")
    return admin_client.post(url, data={"csrf_token": csrf_token(text_of(page))})


def test_a_copied_cookie_is_refused_after_an_administrator_disables_the_account(
    client, new_client, parties, make_user
):
    user = parties.region_user
    assert login(client, user.username).status_code == 302
    copied = session_cookie(client)
    admin = new_client()
    assert login(admin, make_user(None, roles="admin").username).status_code == 302
    assert _admin_post(admin, f"/admin/users/{user.id}/disable").status_code == 302
    assert is_login_redirect(client.get("/"))
    assert is_login_redirect(replay(new_client, copied))
    # Enabling again does not bring the old sessions back.
    assert _admin_post(admin, f"/admin/users/{user.id}/enable").status_code == 302
    assert is_login_redirect(replay(new_client, copied))
    assert login(new_client(), user.username).status_code == 302


def test_an_administrator_can_end_every_session_of_an_active_user(client, new_client, parties, make_user):
    user = parties.region_user
    assert login(client, user.username).status_code == 302
    admin = new_client()
    assert login(admin, make_user(None, roles="admin").username).status_code == 302
    assert _admin_post(admin, f"/admin/users/{user.id}/sessions/end").status_code == 302
    assert is_login_redirect(client.get("/"))
    assert login(client, user.username).status_code == 302


def test_the_session_is_renewed_at_login(client, parties):
    page = client.get("/login")
    with client.session_transaction() as before:
        before["planted"] = "by someone else"
    assert login(client, parties.region_user.username).status_code == 302
    with client.session_transaction() as after:
        assert "planted" not in after
        assert after["_user_id"] == parties.region_user.session_token
    assert page.status_code == 200


# --- Idle and absolute limits (time moved by rewriting the session's stamps) --------------------------------


def test_an_idle_session_ends(app, client, parties):
    assert login(client, parties.region_user.username).status_code == 302
    idle = app.config["SESSION_IDLE_MINUTES"] * 60
    with client.session_transaction() as session:
        session["seen"] -= idle - 5
    assert client.get("/").status_code == 200
    with client.session_transaction() as session:
        session["seen"] -= idle + 5
    response = client.get("/")
    assert is_login_redirect(response)
    assert "Du loggades ut efter en stunds inaktivitet." in text_of(client.get("/login"))
    assert is_login_redirect(client.get("/"))


def test_a_link_followed_after_a_timeout_leads_on_after_the_login(app, client, parties, create_case):
    # The link to a case in an invitation, opened the morning after: log in again, and there is the case.
    case = create_case()
    assert login(client, parties.region_user.username).status_code == 302
    with client.session_transaction() as session:
        session["seen"] -= app.config["SESSION_IDLE_MINUTES"] * 60 + 5
    response = client.get(f"/cases/{case.uid}")
    assert is_login_redirect(response)
    again = login_again(client, response.headers["Location"], parties.region_user.username)
    assert again.headers["Location"] == f"/cases/{case.uid}"


LINK_PAGES = ["/answer/not-a-token", "/my-plan/not-a-token", "/set-password/" + "a" * 43]


@pytest.mark.parametrize("address", LINK_PAGES)
def test_an_answer_or_personal_link_opened_after_a_timeout_is_shown_logged_out(app, client, parties, address):
    # Staff are invited too: their answer link, opened with yesterday's session, opens (no detour to login).
    assert login(client, parties.region_user.username).status_code == 302
    with client.session_transaction() as session:
        session["seen"] -= app.config["SESSION_IDLE_MINUTES"] * 60 + 5
    response = client.get(address)
    assert response.status_code in (400, 404)  # the link's own page (these links name nothing)
    assert is_login_redirect(client.get("/"))


def login_again(client, login_address: str, username: str):
    page = client.get(login_address)
    return client.post(
        login_address,
        data={
            "csrf_token": csrf_token(text_of(page)),
            "username": username,
            "password": TEST_PASSWORD,
        },
    )


def test_the_idle_limit_runs_on_the_applications_clock(app, client, parties, frozen_clock):
    """The same limit, with time moved by the frozen clock the views read instead of by editing stamps."""
    assert login(client, parties.region_user.username).status_code == 302
    idle = timedelta(minutes=app.config["SESSION_IDLE_MINUTES"])
    frozen_clock.advance(idle - timedelta(seconds=5))
    assert client.get("/").status_code == 200
    frozen_clock.advance(idle + timedelta(seconds=5))
    assert is_login_redirect(client.get("/"))


def test_a_busy_session_still_ends_at_its_absolute_lifetime(app, client, parties):
    assert login(client, parties.region_user.username).status_code == 302
    lifetime = app.config["SESSION_MAX_HOURS"] * 3600
    assert app.config["SESSION_MAX_HOURS"] == 12
    with client.session_transaction() as session:
        session["login_at"] -= lifetime - 60
    assert client.get("/").status_code == 200  # an active session just within its lifetime
    with client.session_transaction() as session:
        session["login_at"] -= 120
    response = client.get("/")
    assert is_login_redirect(response)
    assert "Din session har nått sin längsta tillåtna tid. Logga in igen." in text_of(client.get("/login"))


def test_a_session_without_its_stamps_is_not_trusted(client, parties):
    assert login(client, parties.region_user.username).status_code == 302
    with client.session_transaction() as session:
        del session["login_at"]
    assert is_login_redirect(client.get("/"))


def test_the_language_choice_survives_a_timeout(app, client, parties):
    client.get("/login?lang=en")
    assert login(client, parties.region_user.username).status_code == 302
    with client.session_transaction() as session:
        session["seen"] -= app.config["SESSION_IDLE_MINUTES"] * 60 + 5
    client.get("/")
    assert "You were logged out after a period of inactivity." in text_of(client.get("/login"))


# --- CSRF -------------------------------------------------------------------------------------------------


def test_a_post_without_csrf_token_is_refused(client, parties):
    assert (
        client.post(
            "/login", data={"username": parties.region_user.username, "password": TEST_PASSWORD}
        ).status_code
        == 400
    )
    assert login(client, parties.region_user.username).status_code == 302
    assert client.post("/logout").status_code == 400
    assert client.get("/").status_code == 200  # still logged in: the forged logout did nothing
    response = client.post(
        "/password",
        data={
            "current_password": TEST_PASSWORD,
            "new_password": NEW_PASSWORD,
            "new_password_again": NEW_PASSWORD,
        },
    )
    assert response.status_code == 400


def test_a_csrf_token_of_another_session_is_refused(client, new_client, parties):
    other = new_client()
    token = csrf_token(text_of(other.get("/login")))
    response = client.post(
        "/login",
        data={"csrf_token": token, "username": parties.region_user.username, "password": TEST_PASSWORD},
    )
    assert response.status_code == 400


# --- Cookies and headers ----------------------------------------------------------------------------------


def test_security_headers(client):
    response = client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert csp == CONTENT_SECURITY_POLICY
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Robots-Tag"] == "noindex, nofollow"
    assert "Strict-Transport-Security" not in response.headers


def test_the_session_cookie_is_httponly_and_samesite_lax(client):
    header = client.get("/login").headers["Set-Cookie"]
    assert header.startswith("session=")
    assert "HttpOnly" in header and "SameSite=Lax" in header and "Secure" not in header


@pytest.fixture
def production_client(tmp_path):
    app = create_app(
        {
            "ENV_NAME": "production",
            "SECRET_KEY": "a-production-secret-of-enough-length",
            "PNR_HASH_KEY": "k" * 32,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'unused.sqlite3'}",
            "INSTANCE_DIR": str(tmp_path),
        }
    )
    yield app.test_client()
    app.extensions["sipflow.engine"].dispose()


def test_production_adds_hsts_and_a_secure_host_only_cookie(production_client):
    response = production_client.get("/login")
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("__Host-sipflow-session=")
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Domain=" not in cookie and "Path=/" in cookie


def test_opening_an_address_that_only_takes_forms_shows_a_page_in_the_users_language(client):
    # Enter in the address bar on a POST-only address: the app's own page, not Werkzeug's English one.
    response = client.get("/logout")
    assert response.status_code == 405 and "POST" in response.headers["Allow"]
    page = response.get_data(as_text=True)
    assert "Sidan kan inte skickas på det sättet" in page and "Method Not Allowed" not in page
    english = client.get("/logout?lang=en")
    assert "This page cannot be sent that way" in english.get_data(as_text=True)
