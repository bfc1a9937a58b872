"""Shared fixtures: an app on a migrated database (SQLite or PostgreSQL), factories, a fixed clock.

Every test whose fixtures reach the database (`session_app`, hence `app`, `client`, `db_session` ...) is
marked `db`: the PostgreSQL run (`make test-postgres`) runs only those, the others need no database.

Under pytest-xdist each worker is a session of its own: its own SQLite file, or on PostgreSQL its own
database (made at the start, dropped at the end), so that the workers' per-test emptying never meets.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import time
import uuid
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

import pytest
import sqlalchemy.exc
from hypothesis import settings
from smtpkit import SmtpServer
from sqlalchemy import create_engine, delete, event, text
from sqlalchemy.engine import make_url
from sqlmodel import Session, select
from support import (
    FIXED_NOW,
    empty_tables,
    fire,
    new_case,
    new_person,
    new_unit,
    new_user,
    personnummer_in,
    reused_world,
)
from webkit import FreshContextClient, summary_out_of_page_order

import sipflow.models  # noqa: F401  (every table)
from sipflow import create_app
from sipflow.cases.services import add_unit_participant
from sipflow.cli import alembic_config
from sipflow.clock import frozen, now_utc
from sipflow.coding.models import CodeAssignment
from sipflow.db import unit_of_work
from sipflow.i18n import compile_catalogues
from sipflow.notifications.outbox import RELAY_DOWN_KEY
from sipflow.people.models import Unit, User
from sipflow.people.reference import load_municipalities
from sipflow.security.limits import limiter

# Speed is measured in bench/, never asserted: Hypothesis's per-example deadline (200 ms) would fail a
# property test whenever the shared 2-core machine stalls a worker, whatever the property.
settings.register_profile("sipflow", deadline=None)
settings.load_profile("sipflow")

PARTY_UNITS = ("region", "municipality", "school", "outsider")


def pytest_collection_modifyitems(config, items):
    """Mark `db` every test that uses the database through its fixtures; the `heavy` ones go first.

    pytest-xdist hands out the tests in this order: a test of many seconds handed out last would keep
    one worker busy while the others wait.
    """
    for item in items:
        if "session_app" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.db)
    if not os.environ.get("SIPFLOW_TEST_DATABASE_URL", "").startswith("postgresql"):
        # What only PostgreSQL has is asserted by the PostgreSQL run, not skipped in the SQLite one.
        left_out = [item for item in items if item.get_closest_marker("postgresql")]
        if left_out:
            config.hook.pytest_deselected(items=left_out)
            items[:] = [item for item in items if not item.get_closest_marker("postgresql")]
    items.sort(key=lambda item: item.get_closest_marker("heavy") is None)


def database_url(tmp_path_factory) -> str:
    """The URL SIPFLOW_TEST_DATABASE_URL names (PostgreSQL) when it is set, else a fresh SQLite file.

    tmp_path_factory gives every xdist worker a directory of its own, so each has its own SQLite file.
    """
    url = os.environ.get("SIPFLOW_TEST_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'sipflow-test.sqlite3'}"


def _database_name(base: str) -> str:
    """The base database's name with this run and this worker: no two runs on the server share one.

    Other runs (another worktree, another engineer) may use the same server and base database at once.
    """
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID") or uuid.uuid4().hex
    worker = os.environ.get("PYTEST_XDIST_WORKER", "solo")
    return f"{base}_{run[:10]}_{worker}"[:63]


@contextmanager
def own_postgres_database(url: str) -> Iterator[str]:
    """A new, empty database on url's server for this session (a worker of a run); dropped afterwards.

    The base database of url is only connected to, never changed (its role needs CREATEDB, which
    scripts/postgres-test-db.sh grants).
    """
    base = make_url(url)
    name = _database_name(base.database)
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield base.set(database=name).render_as_string(hide_password=False)
        finally:
            _drop_database(admin, name)
    finally:
        admin.dispose()


def _drop_database(admin, name: str, attempts: int = 40) -> None:
    """Drop the session's database, waiting out an autovacuum worker on it.

    WITH (FORCE) ends the run's own connections, but a test role may not end an autovacuum worker (a
    superuser's process), which the suite's many DELETEs wake: the DROP is refused until it has finished,
    a moment later. A database still left after that is only a name no later run uses: warn, don't fail.
    """
    for attempt in range(attempts):
        try:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            return
        except sqlalchemy.exc.DBAPIError as error:
            if type(error.orig).__name__ != "InsufficientPrivilege":
                raise
            if attempt == attempts - 1:
                warnings.warn(f"test database {name} left behind: autovacuum still on it", stacklevel=2)
                return
            time.sleep(0.25)


def _commit_without_flush(dbapi_connection, _record) -> None:
    """Runs after the app's own connect hook: a commit no longer waits for the disk (tests only).

    Durability against a power cut is nothing a test can observe, and waiting for fsync on each of the
    suite's thousands of commits was its largest single cost. Every other setting stays as in production.
    """
    sqlite = isinstance(dbapi_connection, sqlite3.Connection)
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA synchronous=OFF" if sqlite else "SET synchronous_commit TO off")
    cursor.close()
    if not sqlite:
        dbapi_connection.commit()  # psycopg opened a transaction for the SET: keep the setting


@pytest.fixture(scope="session", autouse=True)
def compiled_catalogues():
    """The .mo files are build output, not committed: build them if they are missing or stale."""
    compile_catalogues()


@pytest.fixture(scope="session")
def session_app(tmp_path_factory):
    """The application on a database built by the migrations, with the reference data loaded."""
    url = database_url(tmp_path_factory)
    if url.startswith("postgresql"):
        with own_postgres_database(url) as own:
            yield from _migrated_app(own, tmp_path_factory)
    else:
        yield from _migrated_app(url, tmp_path_factory)


def _migrated_app(url: str, tmp_path_factory):
    """session_app on url: migrated to head, municipalities loaded; the engine disposed at the end."""
    from alembic import command

    outbox = tmp_path_factory.mktemp("outbox")
    app = create_app(
        {
            "ENV_NAME": "testing",
            "TESTING": True,
            "DATABASE_URL": url,
            "SECRET_KEY": "test-secret-key-0123456789",
            "OUTBOX_DIR": str(outbox),
        }
    )
    app.after_request(_summary_in_page_order)
    command.upgrade(alembic_config(url), "head")
    engine = app.extensions["sipflow.engine"]
    event.listen(engine, "connect", _commit_without_flush)
    engine.dispose()  # no pooled connection may have missed the hook
    with app.app_context():
        with Session(engine) as session:
            load_municipalities(session)
            # The migration's default code assignments would last only until the first test's reset empties
            # code_assignment (its rows may name units), so a worker's first test alone would see them. Every
            # test starts without them; those that need them put them in (tests/coding/conftest.py).
            session.exec(delete(CodeAssignment))
            session.commit()
    yield app
    app.extensions["sipflow.engine"].dispose()


def _summary_in_page_order(response):
    """Every refused form any test sends: its page's error summary lists the refusals in the order of the
    fields in the page (a form class declaring its fields in another order than its template shows them
    would list them out of it)."""
    if response.mimetype == "text/html" and not response.is_streamed and response.status_code == 400:
        wrong = summary_out_of_page_order(response.get_data(as_text=True))
        assert wrong is None, f"the error summary is out of page order: {wrong}"
    return response


@pytest.fixture
def engine(app):
    """The app's engine."""
    return app.extensions["sipflow.engine"]


@pytest.fixture
def app(session_app):
    """The application; every table the test wrote to (all but the reference data) is emptied after it."""
    # Failed-login counts would otherwise carry over from one test to the next.
    limiter.reset()
    yield session_app
    limiter.reset()
    empty_tables(session_app.extensions["sipflow.engine"])


@pytest.fixture
def app_ctx(app):
    """An application context (for lazy translations and get_session)."""
    with app.test_request_context():
        yield app


@pytest.fixture
def db_session(app_ctx, engine):
    """A session for arranging and checking data."""
    with Session(engine, expire_on_commit=False) as session:
        yield session


@pytest.fixture
def registry(app):
    """The workflow registry the app loaded."""
    return app.extensions["sipflow.workflows"]


@pytest.fixture
def now():
    """A fixed 'now' for services."""
    return FIXED_NOW


@pytest.fixture
def frozen_clock():
    """sipflow.clock.now_utc() returns FIXED_NOW everywhere (views, services, jobs, threads) during the test.

    Move it with `frozen_clock.advance(timedelta(...))` or `frozen_clock.set(at)`.
    """
    with frozen(FIXED_NOW) as clock:
        yield clock


@pytest.fixture
def make_unit(db_session):
    """Factory: an organisation of kind with one unit; committed; returns the unit (support.new_unit)."""

    def make(kind: str = "region", name: str | None = None, **options) -> Unit:
        unit = new_unit(db_session, kind, name, **options)
        db_session.commit()
        return unit

    return make


@pytest.fixture
def make_user(db_session):
    """Factory: a user of unit with roles, password TEST_PASSWORD; committed (support.new_user)."""

    def make(unit: Unit | None, roles: str = "staff", username: str | None = None, **options) -> User:
        user = new_user(db_session, unit, roles, username, **options)
        db_session.commit()
        return user

    return make


@pytest.fixture
def make_person(db_session, app, now):
    """Factory: a registered person with a valid personnummer; committed (support.new_person)."""

    def make(birth: date = date(1990, 5, 17), serial: int | None = None, municipality: str = "0780"):
        key = app.config["PNR_HASH_KEY"]
        person = new_person(db_session, key, now=now, birth=birth, serial=serial, municipality=municipality)
        db_session.commit()
        return person

    return make


@pytest.fixture
def parties(db_session, make_unit, make_user):
    """A region unit, a municipality unit and a school unit, each with one staff user.

    Built once per worker and then put back from a copy of its rows (support.reused_world), as long as the
    test has written nothing before asking for it.
    """

    def build() -> dict[str, int]:
        units = {
            "region": make_unit("region", "Region Kronoberg"),
            "municipality": make_unit("municipality", "Växjö kommun"),
            "school": make_unit("school", "Katedralskolan"),
            "outsider": make_unit("other", "Försäkringskassan"),
        }
        ids = {name: unit.id for name, unit in units.items()}
        ids |= {f"{name}_user": make_user(unit).id for name, unit in units.items()}
        return ids

    ids = reused_world(db_session.get_bind(), "parties", build)
    units = db_session.exec(select(Unit).where(Unit.id.in_([ids[n] for n in PARTY_UNITS]))).all()
    users = db_session.exec(select(User).where(User.id.in_([ids[f"{n}_user"] for n in PARTY_UNITS]))).all()
    by_id = {("unit", u.id): u for u in units} | {("user", u.id): u for u in users}

    class Parties:
        region, municipality, school, outsider = (by_id[("unit", ids[n])] for n in PARTY_UNITS)
        region_user, municipality_user, school_user, outsider_user = (
            by_id[("user", ids[f"{n}_user"])] for n in PARTY_UNITS
        )

    return Parties


@pytest.fixture
def create_case(db_session, registry, parties, make_person, now):
    """Factory: a case started by the region user with the municipality (and school) taking part."""

    def create(workflow: str = "sip", *, units=None, actor=None, utskrivningsklar_at=None):
        if units is None:
            units = [parties.municipality.id] + ([parties.school.id] if workflow == "sip_child" else [])
        # A child's SIP is for a child (a 12-year-old): an adult consents themselves, also on one.
        person = make_person(birth=date(2014, 3, 1)) if workflow == "sip_child" else make_person()
        case = new_case(
            db_session,
            registry,
            actor or parties.region_user,
            workflow=workflow,
            person=person,
            unit_ids=units,
            now=now,
            utskrivningsklar_at=utskrivningsklar_at,
        )
        db_session.commit()
        return case

    return create


@pytest.fixture
def client(app):
    """A test client whose requests each get their own application context (see webkit)."""
    return FreshContextClient(app, app.response_class, use_cookies=True)


# --- A real SMTP server (aiosmtpd) --------------------------------------------------------------------------


@pytest.fixture(scope="session")
def smtp_controller():
    """An aiosmtpd server on 127.0.0.1 (a free port) for the whole session."""
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture
def smtp_server(smtp_controller):
    """The SMTP server, with nothing received and no refusal queued."""
    smtp_controller.clear()
    yield smtp_controller
    smtp_controller.clear()


@pytest.fixture
def smtp_app(app, smtp_server):
    """The app with its outbox delivering to smtp_server (app.config is shared: restored afterwards)."""
    keys = ("SMTP_HOST", "SMTP_PORT", "SMTP_SECURITY", "SMTP_USERNAME", "SMTP_PASSWORD", "OUTBOX_DELIVERY")
    saved = {key: app.config[key] for key in keys}
    app.config.update(
        SMTP_HOST=smtp_server.host,
        SMTP_PORT=smtp_server.port,
        SMTP_SECURITY="none",
        SMTP_USERNAME="",
        SMTP_PASSWORD="",
        OUTBOX_DELIVERY="after_commit",
    )
    app.extensions.pop(RELAY_DOWN_KEY, None)  # a relay an earlier test found down is not this one's
    yield app
    app.config.update(saved)
    app.extensions.pop(RELAY_DOWN_KEY, None)


# --- Every log line the suite produces, kept for the privacy scan ------------------------------------------

CAPTURED_LOG: list[str] = []


class _Collector(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        CAPTURED_LOG.append(self.format(record))


@pytest.fixture(scope="session", autouse=True)
def captured_log():
    """Collect every INFO-or-higher log record of the session (SQLAlchemy at WARNING, as in production).

    At the session's end the run fails when any line carries a personnummer. A failing teardown rather
    than pytest_sessionfinish: under xdist each worker holds only its own lines, and a worker's error
    reaches the run's result (its session exit status would not).
    """
    handler = _Collector(level=logging.INFO)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    logging.getLogger("sqlalchemy").setLevel(logging.WARNING)
    yield CAPTURED_LOG
    root.removeHandler(handler)
    root.setLevel(old_level)
    leaks = personnummer_in(CAPTURED_LOG)
    if leaks:
        pytest.fail("log lines with a personnummer:\n" + "\n".join(leaks[:20]), pytrace=False)


@pytest.fixture
def joined_later(db_session, registry, parties, create_case):
    """A SIP whose consent covers region and municipality; the school joined after it was recorded."""
    case = create_case()
    fire(
        db_session,
        registry,
        parties.region_user,
        case,
        "give_consent",
        now=now_utc(),
        organisation_ids=[parties.region.organisation_id, parties.municipality.organisation_id],
    )
    with unit_of_work(db_session):
        add_unit_participant(db_session, registry, case, parties.school.id, now=now_utc())
    return case
