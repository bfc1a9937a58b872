"""Logging in: messages, disabled accounts, throttling per username and per address, the password change."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from sqlmodel import Session, select
from webkit import TEST_PASSWORD, FreshContextClient, csrf_token, login, text_of
from werkzeug.urls import iri_to_uri

from sipflow import create_app
from sipflow.clock import now_utc
from sipflow.people.models import User
from sipflow.security import throttle
from sipflow.security.password_policy import new_password_problem
from sipflow.security.passwords import verify_password
from sipflow.security.throttle import LoginFailure

THROTTLED = "För många misslyckade inloggningsförsök"
WRONG = "Fel användarnamn eller lösenord."
NEW_PASSWORD = "tre gröna äpplen i korgen"


@pytest.fixture
def user(parties):
    return parties.region_user


def client_from(app, address: str) -> FreshContextClient:
    """A client whose requests come from address."""
    client = FreshContextClient(app, app.response_class, use_cookies=True)
    client.environ_base["REMOTE_ADDR"] = address
    return client


def fail(client, username: str):
    return login(client, username, "not the password at all")


def reload(db_session, user) -> User:
    db_session.expire_all()
    return db_session.exec(select(User).where(User.id == user.id)).one()


# --- Messages ---------------------------------------------------------------------------------------------


def test_a_wrong_password_says_so_without_telling_which_part_was_wrong(client, user):
    wrong_password = fail(client, user.username)
    unknown_user = fail(client, "nobody-by-this-name")
    assert wrong_password.status_code == unknown_user.status_code == 200
    assert WRONG in text_of(wrong_password) and WRONG in text_of(unknown_user)
    assert client.get("/").status_code == 302


def test_the_username_is_not_case_sensitive(client, make_user, parties):
    # Usernames are unique without regard to case; a phone that capitalises the first letter still logs in.
    make_user(parties.region, username="Anna.Lind")
    assert login(client, "anna.lind").status_code == 302
    client.post("/logout", data={"csrf_token": csrf_token(text_of(client.get("/")))})
    make_user(parties.region, username="erik")
    assert login(client, "Erik").status_code == 302


def test_another_case_of_the_username_with_a_wrong_password_is_refused(client, make_user, parties):
    make_user(parties.region, username="anna.lind")
    response = fail(client, "Anna.Lind")
    assert response.status_code == 200 and WRONG in text_of(response)
    assert client.get("/").status_code == 302


@pytest.fixture
def disabled(user, db_session):
    """The user, with the account disabled."""
    user.active = False
    db_session.add(user)
    db_session.commit()
    return user


def test_a_disabled_account_cannot_log_in(client, disabled):
    response = login(client, disabled.username)
    assert response.status_code == 200
    assert "Kontot är avstängt" in text_of(response)
    assert client.get("/").status_code == 302


def test_the_wrong_password_to_a_disabled_account_gets_the_ordinary_message(client, disabled):
    response = fail(client, disabled.username)
    assert WRONG in text_of(response) and "avstängt" not in text_of(response)


def test_logins_are_logged_by_username_never_with_the_password(client, user, caplog):
    caplog.set_level(logging.INFO)
    fail(client, user.username)
    fail(client, "19121212-1212")
    assert login(client, user.username).status_code == 302
    lines = [record.getMessage() for record in caplog.records]
    assert f"login failed for '{user.username}'" in lines
    assert "login failed for an unknown username" in lines
    assert f"login succeeded for '{user.username}'" in lines
    assert not any("not the password" in line or TEST_PASSWORD in line for line in lines)
    assert not any("19121212" in line for line in lines)


def test_an_absolute_next_address_is_not_followed(client, user):
    page = client.get("/login?next=//evil.example/")
    response = client.post(
        "/login?next=//evil.example/",
        data={"csrf_token": csrf_token(text_of(page)), "username": user.username, "password": TEST_PASSWORD},
    )
    assert response.status_code == 302 and response.headers["Location"] == "/"


def test_an_administrator_lands_in_the_administration(client, make_user):
    admin = make_user(None, roles="admin")
    response = login(client, admin.username)
    assert response.status_code == 302 and response.headers["Location"] == "/admin/"


def test_a_login_over_https_without_a_referer_gets_in(app, user):
    # Behind the TLS proxy (gunicorn takes X-Forwarded-Proto: https from 127.0.0.1) the request is HTTPS,
    # and the browser sends no Referer (the app's Referrer-Policy: no-referrer): Flask-WTF's strict
    # referrer check answered every form, the login first, "Formuläret har gått ut" (400).
    client = FreshContextClient(app, app.response_class, use_cookies=True)
    https = "https://localhost/"
    page = client.get("/login", base_url=https)
    assert page.headers["Referrer-Policy"] == "no-referrer"
    response = client.post(
        "/login",
        base_url=https,
        data={"csrf_token": csrf_token(text_of(page)), "username": user.username, "password": TEST_PASSWORD},
    )
    assert response.status_code == 302
    assert client.get("/", base_url=https).status_code == 200


# --- Throttling -------------------------------------------------------------------------------------------


def test_after_five_failures_the_username_is_throttled_with_a_clear_message(client, user):
    for _ in range(5):
        assert fail(client, user.username).status_code == 200
    response = fail(client, user.username)
    assert response.status_code == 429
    html = text_of(response)
    assert THROTTLED in html and "Försök igen om 1 minut." in html
    # The login page itself, not a bare error page: the form is there, the username kept.
    assert 'name="password"' in html and f'value="{user.username}"' in html
    assert 0 < int(response.headers["Retry-After"]) <= 60
    # While throttled, the right password is refused too.
    right = login(client, user.username)
    assert right.status_code == 429
    assert client.get("/").status_code == 302


def test_throttling_one_username_leaves_others_alone(client, parties):
    for _ in range(6):
        fail(client, parties.region_user.username)
    assert fail(client, parties.region_user.username).status_code == 429
    assert login(client, parties.municipality_user.username).status_code == 302


def test_the_username_is_slowed_from_every_address_without_locking_out_a_new_one(app, user, clock):
    # Before issue 14 the sixth address was refused outright: anyone could lock any username out.
    for n in range(5):
        assert fail(client_from(app, f"192.0.2.{n + 1}"), user.username).status_code == 200
    # Each address that failed now waits before its next guess...
    for n in range(5):
        response = fail(client_from(app, f"192.0.2.{n + 1}"), user.username)
        assert response.status_code == 429 and int(response.headers["Retry-After"]) > 0
    # ...while a new address gets its attempt: one guess, then it waits too.
    newcomer = client_from(app, "192.0.2.99")
    assert fail(newcomer, user.username).status_code == 200
    assert fail(newcomer, user.username).status_code == 429


def test_the_username_counts_without_case_or_spaces(client, user):
    for variant in (user.username, user.username.upper(), f" {user.username} ", user.username, user.username):
        assert fail(client, variant).status_code == 200
    assert fail(client, user.username.title()).status_code == 429


def test_one_address_trying_many_usernames_is_throttled(app, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_LIMIT_PER_ADDRESS", "3 per minute")
    attacker = client_from(app, "198.51.100.7")
    for n in range(3):
        assert fail(attacker, f"guess{n}").status_code == 200
    assert fail(attacker, "guess-next").status_code == 429
    # Another address is not affected.
    assert fail(client_from(app, "198.51.100.8"), "guess0").status_code == 200


def test_a_success_does_not_reset_the_address_count(app, user, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_LIMIT_PER_ADDRESS", "3 per minute")
    office = client_from(app, "203.0.113.5")
    fail(office, "someone-else")
    fail(office, "someone-other")
    assert login(office, user.username).status_code == 302
    page = office.get("/")
    office.post("/logout", data={"csrf_token": csrf_token(text_of(page))})
    assert fail(office, "a-third-one").status_code == 200
    assert login(office, user.username).status_code == 429


def test_a_success_clears_only_that_usernames_failures(client, user):
    for _ in range(4):
        fail(client, user.username)
    assert login(client, user.username).status_code == 302
    page = client.get("/")
    client.post("/logout", data={"csrf_token": csrf_token(text_of(page))})
    for _ in range(5):
        assert fail(client, user.username).status_code == 200
    assert fail(client, user.username).status_code == 429


def test_a_get_of_the_login_page_is_never_throttled(client, user):
    for _ in range(6):
        fail(client, user.username)
    assert client.get("/login").status_code == 200


def test_the_counts_never_hold_the_typed_username_or_address(app, engine):
    fail(client_from(app, "198.51.100.23"), "19121212-1212")
    with Session(engine) as session:
        rows = session.exec(select(LoginFailure)).all()
    assert len(rows) == 1
    stored = " ".join(f"{row.username_key} {row.address_key}" for row in rows)
    assert "19121212" not in stored and "198.51.100" not in stored


# --- Throttling shared by every worker, kept over a restart (issue 14, defect 8) -------------------------


@pytest.fixture
def clock(monkeypatch):
    """The throttle's clock, frozen at the real time and moved by hand (the session's clock runs on)."""

    class Clock:
        now = now_utc()

        def advance(self, seconds: float) -> None:
            self.now += timedelta(seconds=seconds)

    frozen = Clock()
    monkeypatch.setattr(throttle, "now_utc", lambda: frozen.now)
    return frozen


def worker(app, **settings):
    """Another app instance on the same database, as a second gunicorn worker or node would be."""
    keys = ("ENV_NAME", "TESTING", "DATABASE_URL", "SECRET_KEY", "OUTBOX_DIR")
    return create_app({**{key: app.config[key] for key in keys}, **settings})


@pytest.fixture
def workers(app):
    """A factory of app instances on the test database (with settings of their own); their engines are
    closed afterwards."""
    made = []

    def make(**settings):
        made.append(worker(app, **settings))
        return made[-1]

    yield make
    for each in made:
        each.extensions["sipflow.engine"].dispose()


def test_three_workers_together_allow_only_five_failures(app, user, workers):
    # Each worker is started before its share of the guesses, as workers of their own would be.
    attempts = 0
    for share in (2, 2, 1):
        instance = workers()
        for _ in range(share):
            assert fail(client_from(instance, "203.0.113.40"), user.username).status_code == 200
            attempts += 1
    assert attempts == 5
    for instance in (app, workers()):
        assert fail(client_from(instance, "203.0.113.40"), user.username).status_code == 429
        assert login(client_from(instance, "203.0.113.40"), user.username).status_code == 429


def test_a_restart_keeps_the_counts(app, user, workers):
    for _ in range(5):
        assert fail(client_from(app, "203.0.113.41"), user.username).status_code == 200
    restarted = workers()
    response = fail(client_from(restarted, "203.0.113.41"), user.username)
    assert response.status_code == 429 and THROTTLED in text_of(response)


def test_the_right_password_from_another_address_gets_in_after_an_attackers_failures(app, user):
    attacker = client_from(app, "198.51.100.66")
    for _ in range(5):
        assert fail(attacker, user.username).status_code == 200
    assert login(attacker, user.username).status_code == 429  # the attacker's address is stopped
    assert login(client_from(app, "203.0.113.8"), user.username).status_code == 302


def test_a_spread_out_attacker_does_not_lock_the_user_out(app, user):
    for n in range(12):
        fail(client_from(app, f"198.51.100.{n + 100}"), user.username)
    assert login(client_from(app, "203.0.113.9"), user.username).status_code == 302


def test_the_real_user_who_mistyped_during_an_attack_gets_in_after_the_wait(app, user, clock):
    for n in range(8):
        fail(client_from(app, f"198.51.100.{n + 10}"), user.username)
    office = client_from(app, "203.0.113.10")
    assert fail(office, user.username).status_code == 200  # the user's own typo
    waiting = login(office, user.username)
    assert waiting.status_code == 429
    wait = int(waiting.headers["Retry-After"])
    assert 0 < wait <= app.config["LOGIN_DELAY_MAX_SECONDS"]
    assert "Försök igen om" in text_of(waiting)
    clock.advance(wait)
    assert login(office, user.username).status_code == 302


def test_the_delay_grows_with_the_failures_and_has_a_ceiling(app):
    policy = throttle.Policy.from_config(app.config)
    delays = [policy.delay(n) for n in range(40)]
    assert delays[: policy.delay_after] == [0] * policy.delay_after
    assert delays == sorted(delays)
    assert delays[policy.delay_after] < delays[policy.delay_after + 2]
    assert max(delays) == policy.delay_max_seconds


def test_a_refused_attempt_is_not_counted_so_waiting_is_enough(app, user, clock):
    attacker = client_from(app, "198.51.100.77")
    for _ in range(5):
        fail(attacker, user.username)
    for _ in range(20):
        assert fail(attacker, user.username).status_code == 429
    clock.advance(61)
    # The per-minute limit has room again (20 per hour: 5 used); the doubling delay has passed too.
    assert login(attacker, user.username).status_code == 302


def test_old_failures_are_pruned_as_new_ones_are_written(app, user, engine, clock):
    fail(client_from(app, "198.51.100.88"), user.username)
    clock.advance(throttle.Policy.from_config(app.config).horizon.total_seconds() + 1)
    fail(client_from(app, "198.51.100.89"), "someone-else")
    with Session(engine) as session:
        rows = session.exec(select(LoginFailure)).all()
    assert [row.failed_at for row in rows] == [clock.now]


# --- Changing the password --------------------------------------------------------------------------------


def change_password(client, current: str, new: str, again: str | None = None):
    page = client.get("/password")
    return client.post(
        "/password",
        data={
            "csrf_token": csrf_token(text_of(page)),
            "current_password": current,
            "new_password": new,
            "new_password_again": new if again is None else again,
        },
    )


def test_the_password_change_page_needs_a_login(client):
    response = client.get("/password")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_a_password_change_rehashes_with_argon2_and_keeps_this_session(client, user, db_session):
    old_token = user.session_token
    assert login(client, user.username).status_code == 302
    response = change_password(client, TEST_PASSWORD, NEW_PASSWORD)
    assert response.status_code == 302 and response.headers["Location"] == "/"
    home = client.get("/")
    assert home.status_code == 200 and "Ditt lösenord är bytt" in text_of(home)
    changed = reload(db_session, user)
    assert changed.password_hash.startswith("$argon2id$")
    assert verify_password(changed.password_hash, NEW_PASSWORD)
    assert not verify_password(changed.password_hash, TEST_PASSWORD)
    assert changed.session_token != old_token
    page = client.get("/")
    client.post("/logout", data={"csrf_token": csrf_token(text_of(page))})
    assert login(client, user.username, NEW_PASSWORD).status_code == 302


@pytest.mark.parametrize(
    ("new", "again", "message"),
    [
        ("kort", None, "minst 12 tecken"),
        ("Lösenord1234", None, "bland de första"),
        ("password 1234", None, "bland de första"),
        ("aaaaaaaaaaaaaaaa", None, "bland de första"),
        (NEW_PASSWORD, NEW_PASSWORD + "!", "De två nya lösenorden är inte lika"),
        (TEST_PASSWORD, None, "skilja sig från det nuvarande"),
        ("tre gröna\r\näpplen i korgen", None, "styrtecken"),
        ("tre gröna\näpplen i korgen", None, "styrtecken"),
        ("tre gröna\täpplen i korgen", None, "styrtecken"),
    ],
)
def test_a_weak_or_mistyped_new_password_is_refused(client, user, db_session, new, again, message):
    assert login(client, user.username).status_code == 302
    response = change_password(client, TEST_PASSWORD, new, again)
    assert response.status_code == 200
    assert message in text_of(response)
    assert verify_password(reload(db_session, user).password_hash, TEST_PASSWORD)


def test_the_username_cannot_be_the_password(client, make_user, db_session):
    named = make_user(None, username="kristina.andersson")
    assert login(client, named.username).status_code == 302
    response = change_password(client, TEST_PASSWORD, "Kristina.Andersson")
    assert "får inte vara ditt användarnamn" in text_of(response)


def test_the_current_password_must_be_right_and_guessing_it_is_throttled(client, user, db_session):
    assert login(client, user.username).status_code == 302
    for _ in range(5):
        response = change_password(client, "a wrong guess here", NEW_PASSWORD)
        assert response.status_code == 200 and "Det nuvarande lösenordet är fel" in text_of(response)
    response = change_password(client, TEST_PASSWORD, NEW_PASSWORD)
    assert response.status_code == 429
    assert "För många felaktiga lösenord" in text_of(response)
    assert verify_password(reload(db_session, user).password_hash, TEST_PASSWORD)


@pytest.mark.parametrize(
    ("password", "ok"),
    [
        ("correct horse battery staple", False),
        ("Correct-Horse-Battery-Staple", False),
        ("tolv tecken!", True),
        ("elva tecken", False),
        ("x" * 256, False),
        ("abababababababab", False),
        ("en lång mening om ingenting alls " * 7, True),
        ("tolv tecken!\r\n", False),
        ("tolv\ntecken!", False),
        ("tolv\x1btecken!", False),
        ("tolv\x7ftecken!", False),
        ("tolv\u2028tecken!", False),
        ("tolv tecken på svenska: åäö", True),
    ],
)
def test_the_password_policy(password, ok):
    assert (new_password_problem(password, username="anna") is None) is ok


def test_testing_apps_hash_cheaply_and_everything_else_at_full_cost(app):
    from argon2 import extract_parameters

    from sipflow.security import passwords

    assert extract_parameters(passwords.hash_password("x" * 12)).memory_cost == 8
    passwords.use_cheap_hashing(False)
    try:
        assert extract_parameters(passwords.hash_password("x" * 12)).memory_cost >= 19 * 1024
    finally:
        passwords.use_cheap_hashing(True)


# --- Where the login leads (defect 4 of issue 14) ---------------------------------------------------------

HOSTILE_NEXT = [
    "/\t/evil.example",
    "/%09/evil.example",
    "/\n/evil.example",
    "/%0A/evil.example",
    "/\r/evil.example",
    "/%0D/evil.example",
    "/%0D%0ASet-Cookie:%20x=y",
    "/ok\r\nSet-Cookie: x=y",
    "//evil.example",
    "///evil.example",
    "/\\evil.example",
    "/%5Cevil.example",
    "\\/evil.example",
    "%5C/evil.example",
    "\\\\evil.example",
    "https://evil.example/",
    "https:evil.example",
    "https:/evil.example",
    "javascript:alert(1)",
    "http%3A%2F%2Fevil.example",
    "%2F%2Fevil.example",
    " //evil.example",
    "/ /evil.example",
    "/\x0b/evil.example",
    "/\x0c/evil.example",
    "/\x7f/evil.example",
    "/\u3000/evil.example",
    "/\u2028/evil.example",
    "/\u200b/evil.example",
    "/\ufeff/evil.example",
    "/\u0085/evil.example",
    "\t//evil.example",
    "evil.example",
    "",
]


def _on_this_site(location: str) -> bool:
    from urllib.parse import urlsplit

    parts = urlsplit(location)
    return (
        not parts.scheme
        and not parts.netloc
        and location.startswith("/")
        and not location.startswith("//")
        and "\\" not in location
        and not any(ord(c) < 0x21 or ord(c) == 0x7F for c in location)
    )


@pytest.mark.parametrize("target", HOSTILE_NEXT)
def test_a_hostile_next_address_leads_home_never_off_the_site(client, user, target):
    from urllib.parse import quote

    url = "/login?next=" + quote(target, safe="%/:")
    page = client.get(url)
    assert page.status_code == 200
    assert "evil.example" not in text_of(page)  # the form does not carry it on either
    response = client.post(
        url,
        data={"csrf_token": csrf_token(text_of(page)), "username": user.username, "password": TEST_PASSWORD},
    )
    assert response.status_code == 302
    location = response.headers["Location"]
    assert _on_this_site(location), location
    assert location == "/"


@pytest.mark.parametrize(
    "target", ["/cases/abc123?tab=meetings", "/password", "/cases/?q=a%20b#top", "/cases/?q=Åsa"]
)
def test_a_local_next_address_is_followed(client, user, target):
    from urllib.parse import quote

    url = "/login?next=" + quote(target, safe="")
    page = client.get(url)
    response = client.post(
        url,
        data={"csrf_token": csrf_token(text_of(page)), "username": user.username, "password": TEST_PASSWORD},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == iri_to_uri(target)  # "Å" percent-encoded, nothing else


def test_guesses_sent_at_once_to_three_workers_get_only_five_password_checks(app, user, workers):
    from concurrent.futures import ThreadPoolExecutor

    instances = [app, workers(), workers()]
    clients = [client_from(instances[n % 3], "203.0.113.77") for n in range(12)]
    tokens = [csrf_token(text_of(client.get("/login"))) for client in clients]

    def guess(n: int) -> int:
        data = {"csrf_token": tokens[n], "username": user.username, "password": "a parallel guess"}
        return clients[n].post("/login", data=data).status_code

    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = list(pool.map(guess, range(12)))
    assert set(statuses) <= {200, 429}
    assert statuses.count(200) <= 5


def test_behind_a_trusted_proxy_each_client_is_counted_at_its_own_address(workers):
    # Behind the TLS proxy every request came from the proxy's address: one guesser used up the limit per
    # address of the whole county. With SIPFLOW_TRUSTED_PROXIES=1 the client's is read from X-Forwarded-For.
    proxied = workers(TRUSTED_PROXIES=1, LOGIN_LIMIT_PER_ADDRESS="3 per minute")

    def through_the_proxy(address: str) -> FreshContextClient:
        client = client_from(proxied, "10.0.0.2")
        client.environ_base["HTTP_X_FORWARDED_FOR"] = address
        return client

    attacker = through_the_proxy("198.51.100.7")
    for n in range(3):
        assert fail(attacker, f"guess{n}").status_code == 200
    assert fail(attacker, "guess-next").status_code == 429
    # A colleague behind the same proxy is not refused for the guesser's failures.
    assert fail(through_the_proxy("198.51.100.8"), "guess0").status_code == 200
