"""Configuration is validated at start: a refusal names the variable to fix."""

from __future__ import annotations

import importlib.util

import pytest
from flask_login.utils import _create_identifier

from sipflow import create_app
from sipflow.config import DEVELOPMENT_SECRET, ConfigError, load_config
from sipflow.scheduler import leader_lock
from tests.support import empty_tables

SECRET = "a-production-secret-of-enough-length"


def test_defaults_are_a_development_setup_on_sqlite(tmp_path):
    cfg = load_config(environ={"SIPFLOW_INSTANCE_DIR": str(tmp_path)})
    assert cfg["ENV_NAME"] == "development"
    assert cfg["DATABASE_URL"] == f"sqlite:///{tmp_path / 'sipflow.sqlite3'}"
    assert cfg["SESSION_COOKIE_SECURE"] is False
    assert cfg["PNR_HASH_KEY"]


def test_production_with_the_development_secret_is_refused():
    with pytest.raises(ConfigError, match="SIPFLOW_SECRET_KEY"):
        load_config(environ={"SIPFLOW_ENV": "production", "SIPFLOW_PNR_HASH_KEY": "k" * 32})


def test_production_with_the_development_secret_set_explicitly_is_refused():
    env = {
        "SIPFLOW_ENV": "production",
        "SIPFLOW_SECRET_KEY": DEVELOPMENT_SECRET,
        "SIPFLOW_PNR_HASH_KEY": "k" * 32,
    }
    with pytest.raises(ConfigError, match="SIPFLOW_SECRET_KEY"):
        load_config(environ=env)


def test_production_without_a_personnummer_hash_key_is_refused():
    with pytest.raises(ConfigError, match="SIPFLOW_PNR_HASH_KEY"):
        load_config(environ={"SIPFLOW_ENV": "production", "SIPFLOW_SECRET_KEY": SECRET})


def test_production_with_its_own_secrets_is_accepted_with_secure_cookies():
    env = {"SIPFLOW_ENV": "production", "SIPFLOW_SECRET_KEY": SECRET, "SIPFLOW_PNR_HASH_KEY": "k" * 32}
    cfg = load_config(environ=env)
    assert cfg["SESSION_COOKIE_SECURE"] is True and cfg["REMEMBER_COOKIE_SECURE"] is True


@pytest.mark.parametrize(
    "url",
    ["not a database url", "mysql://user:pw@localhost/sipflow", "mongodb://localhost/sipflow", ""],
)
def test_a_bad_database_url_is_refused_naming_the_variable(url):
    with pytest.raises(ConfigError, match="SIPFLOW_DATABASE_URL"):
        load_config(environ={"SIPFLOW_DATABASE_URL": url})


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("SIPFLOW_ENV", "staging"),
        ("SIPFLOW_SESSION_IDLE_MINUTES", "half an hour"),
        ("SIPFLOW_SESSION_IDLE_MINUTES", "0"),
        ("SIPFLOW_SECRET_KEY", "short"),
        # Disclosure control would hide nothing: a count of one person published, a legend of "<1".
        ("SIPFLOW_STATS_SUPPRESSION_THRESHOLD", "1"),
        ("SIPFLOW_STATS_SUPPRESSION_THRESHOLD", "0"),
        ("SIPFLOW_STATS_SUPPRESSION_THRESHOLD", "-5"),
    ],
)
def test_other_bad_values_are_refused_naming_the_variable(variable, value):
    with pytest.raises(ConfigError, match=variable):
        load_config(environ={variable: value})


def test_create_app_refuses_a_bad_configuration(monkeypatch):
    monkeypatch.setenv("SIPFLOW_ENV", "production")
    monkeypatch.delenv("SIPFLOW_SECRET_KEY", raising=False)
    with pytest.raises(ConfigError, match="SIPFLOW_SECRET_KEY"):
        create_app()


def test_healthz_reports_the_database(session_app):
    response = session_app.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.is_json
    body = response.get_json()
    assert body["status"] == "ok"
    assert body["database"]["status"] == "ok"
    assert body["database"]["backend"] == session_app.extensions["sipflow.engine"].dialect.name


def test_healthz_says_whether_a_scheduler_is_active(session_app):
    """With the scheduler process killed and none started again, /healthz said all was well while no
    reminder, retention or retry of the outbox ran: it now says whether one leads for the database."""
    client = session_app.test_client()
    assert client.get("/healthz").get_json()["scheduler"] == {"status": "none"}
    lock = leader_lock(session_app)
    assert lock.acquire()
    try:
        response = client.get("/healthz")
        assert response.status_code == 200
        assert response.get_json()["scheduler"] == {"status": "active"}
    finally:
        lock.release()
    assert client.get("/healthz").get_json()["scheduler"] == {"status": "none"}


def test_healthz_reports_an_unreachable_database():
    app = create_app(
        {
            "ENV_NAME": "testing",
            # Nothing listens on port 1: the connection is refused at once.
            "DATABASE_URL": "postgresql+psycopg://nobody:secret@127.0.0.1:1/none",
            "SECRET_KEY": "test-secret-key-0123456789",
        }
    )
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "error"
    assert body["database"]["status"] == "error"
    assert body["scheduler"] == {"status": "unknown"}
    assert "secret" not in response.get_data(as_text=True)


def test_healthz_reports_an_unreachable_database_to_a_logged_in_browser_too():
    """An operator logged in (a session cookie) who opened /healthz while the database was down got the
    error page (500, HTML): the session's user was looked up in the database before the check answered."""
    app = create_app(
        {
            "ENV_NAME": "testing",
            "DATABASE_URL": "postgresql+psycopg://nobody:secret@127.0.0.1:1/none",
            "SECRET_KEY": "test-secret-key-0123456789",
        }
    )
    client = app.test_client()
    with app.test_request_context(environ_base=client.environ_base):
        identifier = _create_identifier()  # what the login stamps: session protection keeps the session
    with client.session_transaction() as session:
        session.update(_user_id="a-session-token", _fresh=True, _id=identifier)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["database"]["status"] == "error"


PRODUCTION = {"SIPFLOW_ENV": "production", "SIPFLOW_SECRET_KEY": SECRET, "SIPFLOW_PNR_HASH_KEY": "k" * 32}


@pytest.mark.parametrize(
    "url", ["http://sip.example.se", "http://sip.example.se:8080/sip", "HTTP://10.0.0.5"]
)
def test_production_refuses_a_public_url_without_https(url):
    with pytest.raises(ConfigError, match="SIPFLOW_PUBLIC_URL must be an https:// address in production"):
        load_config(environ={**PRODUCTION, "SIPFLOW_PUBLIC_URL": url})


@pytest.mark.parametrize(
    "url", ["https://sip.example.se", "http://127.0.0.1:5000", "http://localhost:8000", "http://[::1]:5000"]
)
def test_production_takes_https_or_this_machine_over_http(url):
    assert load_config(environ={**PRODUCTION, "SIPFLOW_PUBLIC_URL": url})["PUBLIC_URL"] == url


def test_development_takes_a_public_url_over_http():
    url = "http://sip.example.se"
    assert load_config(environ={"SIPFLOW_PUBLIC_URL": url})["PUBLIC_URL"] == url


def test_trusted_proxies_default_to_none_and_must_be_a_count():
    assert load_config(environ={})["TRUSTED_PROXIES"] == 0
    assert load_config(environ={"SIPFLOW_TRUSTED_PROXIES": "1"})["TRUSTED_PROXIES"] == 1
    for wrong in ("-1", "yes", "1.5"):
        with pytest.raises(ConfigError, match="SIPFLOW_TRUSTED_PROXIES"):
            load_config(environ={"SIPFLOW_TRUSTED_PROXIES": wrong})


def test_a_postgres_url_in_the_short_form_is_refused_saying_how_to_write_it():
    # postgres://, as many hosting guides write it, was refused with "must point to SQLite or PostgreSQL",
    # which it does: the administrator saw nothing to change.
    with pytest.raises(ConfigError) as refused:
        load_config(environ={"SIPFLOW_DATABASE_URL": "postgres://sip:hemligt@db.example/sipflow"})
    message = str(refused.value)
    assert "postgresql+psycopg://USER:PASSWORD@HOST/DATABASE" in message
    assert "it begins postgres://" in message and "hemligt" not in message


# Every character a URI may hold as it is (RFC 3986): a link with any other would be no link in the mail,
# and no URL property the calendar programs (or the icalendar library writing it) take.
@pytest.mark.parametrize(
    "template",
    [
        # A trailing line break, as an environment file or a mounted secret often ends: every video
        # booking then failed writing the calendar entry (a URI may hold no CR or LF).
        "https://meet.jit.si/sipflow-{room}\n",
        "https://meet.jit.si/sipflow-{room} ",
        "https://meet jit.si/sipflow-{room}",
        'https://meet.jit.si/"sip"-{room}',
        "https://möte.example.se/{room}",
        # No host: the link leads nowhere.
        "https:///sipflow-{room}",
        "https://{room}",
        # Longer than a meeting's video link holds (500) once the room (20 characters) is in it.
        "https://meet.jit.si/" + "x" * 461 + "{room}",
    ],
)
def test_a_video_link_template_whose_links_could_not_be_sent_is_refused_at_start(template):
    with pytest.raises(ConfigError, match="SIPFLOW_VIDEO_URL_TEMPLATE"):
        load_config(environ={"SIPFLOW_VIDEO_URL_TEMPLATE": template})


@pytest.mark.parametrize(
    "template",
    [
        "https://meet.jit.si/sipflow-{room}",
        "https://video.regionkalmar.se/sip/{room}?lang=sv&start=muted",
        "https://meet.jit.si/" + "x" * 460 + "{room}",  # links of exactly 500 characters
    ],
)
def test_a_video_link_template_of_sendable_links_is_accepted(template):
    assert load_config(environ={"SIPFLOW_VIDEO_URL_TEMPLATE": template})["VIDEO_URL_TEMPLATE"] == template


@pytest.mark.parametrize(
    ("uri", "client"),
    [("redis://localhost:6379/0", "redis"), ("memcached://localhost:11211", "pymemcache")],
)
def test_a_limit_store_without_its_client_library_is_refused_in_one_line(tmp_path, uri, client):
    """redis:// without the redis package installed stopped the start with a traceback from the limiter;
    the start now names the variable and what to install. (requirements.txt installs neither client.)"""
    assert importlib.util.find_spec(client) is None
    scheme = uri.partition("://")[0]
    env = {"SIPFLOW_INSTANCE_DIR": str(tmp_path), "SIPFLOW_RATELIMIT_STORAGE_URI": uri}
    refusal = rf"SIPFLOW_RATELIMIT_STORAGE_URI {scheme}:// needs its client library"
    with pytest.raises(ConfigError, match=refusal):
        load_config(environ=env)
    # A store whose client is at hand is taken as before.
    assert load_config(environ=env | {"SIPFLOW_RATELIMIT_STORAGE_URI": "memory://"})


def _restored_app(app, hash_key: str):
    """The app started again on the same database, as after a restore, under hash_key."""
    return create_app(
        {
            "ENV_NAME": "testing",
            "DATABASE_URL": app.config["DATABASE_URL"],
            "SECRET_KEY": app.config["SECRET_KEY"],
            "PNR_HASH_KEY": hash_key,
            "OUTBOX_DIR": app.config["OUTBOX_DIR"],
        }
    )


def test_a_database_restored_under_another_personnummer_key_is_refused_at_start(app, make_person):
    # A region restored its backup without the key it kept (a new key, or none and the development one):
    # the persons registered would no longer be found, and would be registered a second time.
    make_person()
    with pytest.raises(ConfigError, match="SIPFLOW_PNR_HASH_KEY is not the key the persons"):
        _restored_app(app, "another-personnummer-key-0123456789")


def test_a_database_restored_under_its_own_personnummer_key_starts(app, make_person):
    make_person()
    restored = _restored_app(app, app.config["PNR_HASH_KEY"])
    assert restored.test_client().get("/healthz").status_code == 200
    # A database with no person yet tells nothing of the key: any key starts.
    empty_tables(app.extensions["sipflow.engine"])
    assert _restored_app(app, "another-personnummer-key-0123456789").config["PNR_HASH_KEY"]


@pytest.mark.postgresql
def test_a_database_whose_tables_the_user_may_not_write_is_refused_at_start(app):
    # A backup restored by the server's administrator (pg_restore --no-owner) leaves the tables theirs:
    # sipflow's own user may not write them, and every page and job would fail on "permission denied".
    # (Table privileges are PostgreSQL's: the SQLite run leaves this test out.)
    engine = app.extensions["sipflow.engine"]
    with engine.begin() as connection:
        connection.exec_driver_sql('REVOKE UPDATE ON TABLE "unit" FROM CURRENT_USER')
        connection.exec_driver_sql("REVOKE USAGE ON SEQUENCE person_id_seq FROM CURRENT_USER")
    try:
        refused = r"may not read and write 2 .* \(person_id_seq, unit; owned by "
        with pytest.raises(ConfigError, match=refused):
            _restored_app(app, app.config["PNR_HASH_KEY"])
    finally:
        with engine.begin() as connection:
            connection.exec_driver_sql('GRANT ALL ON TABLE "unit" TO CURRENT_USER')
            connection.exec_driver_sql("GRANT ALL ON SEQUENCE person_id_seq TO CURRENT_USER")
    assert _restored_app(app, app.config["PNR_HASH_KEY"]).test_client().get("/healthz").status_code == 200
