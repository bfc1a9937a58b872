"""The migrations build exactly the schema the models describe, and run down to nothing and back up.

On SQLite every check runs on a new database file. On PostgreSQL (SIPFLOW_TEST_DATABASE_URL) the test
database is the session app's, so the fresh-database checks run in a schema of their own that is dropped
afterwards, and the test database itself is only compared, never changed.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import uuid
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from migrationkit import REGION_AND_MUNICIPALITY, a_case, a_person
from sqlalchemy import create_engine, inspect, make_url, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlmodel import SQLModel

import sipflow.models  # noqa: F401  (every table)
from sipflow.cli import alembic_config
from sipflow.config import PROJECT_ROOT
from sipflow.db import make_engine

PG_URL = os.environ.get("SIPFLOW_TEST_DATABASE_URL", "")


def compare_type(context_, inspected_column, metadata_column, inspected_type, metadata_type):
    """The rule of migrations/env.py (which runs the migrations when imported, so it is copied here)."""
    if type(metadata_type).__name__ == "UTCDateTime":
        return False
    return None


def schema_diff(connection) -> list:
    """What autogenerate would write to make the database match the models: nothing, when they agree."""
    context = MigrationContext.configure(connection, opts={"compare_type": compare_type})
    with warnings.catch_warnings():
        # SQLite's reflection cannot read an index on an expression (ix_user_email_lower), so neither side
        # of it is compared there; PostgreSQL's compares it.
        warnings.filterwarnings("ignore", message=".*expression-based index")
        return compare_metadata(context, SQLModel.metadata)


def head_revision() -> str:
    (head,) = ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads()
    return head


def current_revision(connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def test_one_head_and_dated_file_names():
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert len(script.get_heads()) == 1
    names = [p.name for p in (PROJECT_ROOT / "migrations" / "versions").glob("*.py")]
    assert names
    for name in names:
        assert re.fullmatch(r"\d{8}_\d{4}_[0-9a-f]+_\w+\.py", name), name


def test_test_database_matches_the_models(session_app):
    with session_app.extensions["sipflow.engine"].connect() as connection:
        assert schema_diff(connection) == []
        assert current_revision(connection) == head_revision()


@contextmanager
def migrated_sqlite(path: Path) -> Iterator[Engine]:
    """A new SQLite database at path, upgraded to head, and an engine on it."""
    url = f"sqlite:///{path}"
    command.upgrade(alembic_config(url), "head")
    engine = make_engine(url)
    try:
        yield engine
    finally:
        engine.dispose()


def test_fresh_sqlite_database_matches_the_models(tmp_path: Path):
    with migrated_sqlite(tmp_path / "fresh.sqlite3") as engine, engine.connect() as connection:
        assert schema_diff(connection) == []
        assert current_revision(connection) == head_revision()


def test_the_comparison_sees_a_difference(tmp_path: Path):
    with migrated_sqlite(tmp_path / "drift.sqlite3") as engine:
        with engine.begin() as connection:
            connection.execute(text("ALTER TABLE sipcase ADD COLUMN stray INTEGER"))
            connection.execute(text("DROP INDEX ix_meeting_starts_at"))
        with engine.connect() as connection:
            diff = schema_diff(connection)
    assert ("remove_column", None, "sipcase") in [d[:3] for d in diff if isinstance(d, tuple)]
    assert any(
        d[0] == "add_index" and d[1].name == "ix_meeting_starts_at" for d in diff if isinstance(d, tuple)
    )


@pytest.mark.db  # no database fixture, but on PostgreSQL it runs on the test database's server
def test_downgrade_to_base_and_upgrade_again(tmp_path: Path):
    """On the database the suite runs on: a new SQLite file, or a new PostgreSQL schema."""
    if PG_URL.startswith("postgresql"):
        postgres_schema_round_trip()
    else:
        sqlite_round_trip(tmp_path)


def sqlite_round_trip(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'roundtrip.sqlite3'}"
    cfg = alembic_config(url)
    command.upgrade(cfg, "head")
    command.downgrade(cfg, "base")
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            assert set(inspect(connection).get_table_names()) <= {"alembic_version"}
            assert current_revision(connection) is None
        command.upgrade(cfg, "head")
        with engine.connect() as connection:
            assert schema_diff(connection) == []
            assert current_revision(connection) == head_revision()
    finally:
        engine.dispose()


def postgres_schema_round_trip():
    schema = f"migrations_{uuid.uuid4().hex[:12]}"
    engine = make_engine(PG_URL)
    try:
        with engine.connect() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
            connection.execute(text(f'SET search_path TO "{schema}"'))
            connection.commit()
            cfg = alembic_config(PG_URL)
            # env.py runs on a connection handed to it, so everything happens in the new schema.
            cfg.attributes["connection"] = connection

            command.upgrade(cfg, "head")
            connection.commit()
            assert connection.execute(text("SELECT current_schema()")).scalar() == schema
            assert schema_diff(connection) == []
            assert current_revision(connection) == head_revision()

            command.downgrade(cfg, "base")
            connection.commit()
            assert set(inspect(connection).get_table_names(schema=schema)) <= {"alembic_version"}

            command.upgrade(cfg, "head")
            connection.commit()
            assert schema_diff(connection) == []
    finally:
        with engine.begin() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()


# One web node's deploy runs `db upgrade` while another node's does (each node's start, or a playbook run on
# every host at once): the migrations run in the same database at the same moment.
_UPGRADE = (
    "import sys; from alembic import command; from sipflow.cli import alembic_config; "
    "command.upgrade(alembic_config(sys.argv[1]), 'head')"
)


@pytest.mark.db
@pytest.mark.postgresql
def test_two_upgrades_at_once_apply_each_migration_once():
    """Both meet the newest migration to apply: the second waits for the first and finds nothing left to do,
    instead of applying it a second time (a column added twice: the second node's deploy failed)."""
    schema = f"migrations_{uuid.uuid4().hex[:12]}"
    tag = f"sipflow-{schema}"
    url = make_url(PG_URL).update_query_dict({"options": f"-csearch_path={schema}", "application_name": tag})
    url = url.render_as_string(hide_password=False)
    script = ScriptDirectory.from_config(alembic_config(PG_URL))
    before_head = script.get_revision(head_revision()).down_revision
    engine = make_engine(PG_URL)
    upgrades = []
    try:
        with engine.connect() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
            connection.execute(text(f'SET search_path TO "{schema}"'))
            connection.commit()
            cfg = alembic_config(PG_URL)
            cfg.attributes["connection"] = connection
            command.upgrade(cfg, before_head)
            connection.commit()
        with engine.connect() as blocker, engine.connect() as watcher:
            # Both upgrades read the version and start the migration; neither can write the new version yet.
            blocker.execute(text(f'LOCK TABLE "{schema}".alembic_version IN EXCLUSIVE MODE'))
            for _ in range(2):
                upgrades.append(
                    subprocess.Popen(
                        [sys.executable, "-c", _UPGRADE, url],
                        stdout=subprocess.PIPE,
                        stderr=subprocess.STDOUT,
                        text=True,
                        cwd=PROJECT_ROOT,
                    )
                )
            waiting = (
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE application_name = :tag AND wait_event_type = 'Lock'"
            )
            deadline = time.monotonic() + 120
            while watcher.execute(text(waiting), {"tag": tag}).scalar() < 2:
                watcher.rollback()
                assert time.monotonic() < deadline, "the two upgrades never both reached the database"
                assert all(upgrade.poll() is None for upgrade in upgrades), [
                    u.communicate()[0] for u in upgrades
                ]
                time.sleep(0.1)
            blocker.commit()
        outputs = [upgrade.communicate(timeout=120)[0] for upgrade in upgrades]
        assert [upgrade.returncode for upgrade in upgrades] == [0, 0], outputs
        with engine.connect() as connection:
            connection.execute(text(f'SET search_path TO "{schema}"'))
            assert current_revision(connection) == head_revision()
            assert schema_diff(connection) == []
    finally:
        for upgrade in upgrades:
            if upgrade.poll() is None:
                upgrade.kill()
                upgrade.wait()
        with engine.begin() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()


OLD_REMINDER_ROWS = [
    "INSERT INTO organisation (id, key, name, kind) VALUES (1, 'org', 'Region', 'region')",
    "INSERT INTO person (id, id_kind, id_number, id_hash, given_name, family_name, legal_sex,"
    " home_municipality_code, created_at) VALUES (1, 'pnr', 'x', 'h', 'A', 'B', 'x', '0114', :at)",
    "INSERT INTO sipcase (id, uid, reference, workflow_name, workflow_version, state, occasion, version,"
    " person_id, initiating_organisation_id, requested_at, created_at, updated_at, municipality_code)"
    " VALUES (1, 'u', 'SIP-1', 'sip', 1, 'plan_established', 'x', 1, 1, 1, :at, :at, :at, '0114')",
    *(
        "INSERT INTO outboxmessage (id, kind, case_id, recipient, subject, message, message_id, status,"
        f" attempts, next_attempt_at, created_at) VALUES ({n}, 'reminder', 1, 'staff{n}@example.org', 's',"
        f" 'm', '<{n}@x>', 'sent', 1, :at, :at)"
        for n in (1, 2)
    ),
    "INSERT INTO reminder (id, kind, dedupe_key, case_id, template, due_at, status, sent_at, late, attempts,"
    " outbox_id, created_at) VALUES (7, 'deadline_missed', 'k', 1, 't', :at, 'sent', :at, 0, 1, 1, :at)",
]


def test_the_outbox_reminder_record_is_backfilled_with_each_reminders_own_row_only(tmp_path: Path):
    """A sent reminder's outbox_id row is known to be its own; its other rows (the rest of a unit's staff,
    written before the record) cannot be told for sure and stay unrecorded."""
    url = f"sqlite:///{tmp_path / 'backfill.sqlite3'}"
    cfg = alembic_config(url)
    command.upgrade(cfg, "f1a3c5e7b9d2")
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            for statement in OLD_REMINDER_ROWS:
                connection.execute(text(statement), {"at": "2026-11-02 09:00:00.000000"})
        command.upgrade(cfg, "a2b4c6d8e0f3")
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT id, reminder_id FROM outboxmessage ORDER BY id")).all()
    finally:
        engine.dispose()
    assert [tuple(row) for row in rows] == [(1, 7), (2, None)]


GUARDIAN_CONSENT_ROWS = [
    "INSERT INTO organisation (id, key, name, kind) VALUES (1, 'org', 'Region', 'region')",
    "INSERT INTO user (id, username, display_name, password_hash, roles, active, session_token)"
    " VALUES (1, 'u', 'U', 'x', 'staff', 1, 't')",
    *(
        "INSERT INTO person (id, id_kind, id_number, id_hash, given_name, family_name, legal_sex,"
        f" home_municipality_code, created_at, birth_date) VALUES ({n}, 'pnr', 'x{n}', 'h{n}', 'A', 'B', 'x',"
        f" '0780', :at, {born})"
        for n, born in ((1, "'2008-11-10'"), (2, "NULL"))
    ),
    *(
        "INSERT INTO sipcase (id, uid, reference, workflow_name, workflow_version, state, occasion, version,"
        f" person_id, initiating_organisation_id, requested_at, created_at, updated_at, municipality_code)"
        f" VALUES ({n}, 'u{n}', 'SIP-{n}', 'sip_child', 2, 'consent_given', 'child', 1, {n}, 1,"
        " :at, :at, :at, '0780')"
        for n in (1, 2)
    ),
    *(
        "INSERT INTO consent (id, case_id, decision, given_by, form, valid_until, recorded_at,"
        f" recorded_by_user_id) VALUES ({n}, {case}, '{decision}', '{giver}', 'written', {until}, :at, 1)"
        for n, case, decision, giver, until in (
            (1, 1, "given", "guardian", "NULL"),  # until withdrawn: ends the day before the birthday
            (2, 1, "given", "guardian", "'2027-06-30'"),  # past the birthday: the same
            (3, 1, "given", "guardian", "'2026-10-31'"),  # before it: kept
            (4, 1, "given", "person", "NULL"),  # the person's own: kept
            (5, 2, "given", "guardian", "NULL"),  # a birth date unknown: kept
        )
    ),
]


def test_a_guardians_consent_recorded_before_ends_the_day_before_the_18th_birthday(tmp_path: Path):
    """Guardians' consents recorded with no end, or one after the person's 18th birthday, end the day
    before it (consent.services.guardians_last_day); any other consent keeps its end."""
    url = f"sqlite:///{tmp_path / 'custody.sqlite3'}"
    cfg = alembic_config(url)
    command.upgrade(cfg, "f4b6d8f0a2c3")
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            for statement in GUARDIAN_CONSENT_ROWS:
                connection.execute(text(statement), {"at": "2026-11-02 09:00:00.000000"})
        command.upgrade(cfg, "c5e7a9b1d3f4")
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT id, valid_until FROM consent ORDER BY id")).all()
    finally:
        engine.dispose()
    assert [tuple(row) for row in rows] == [
        (1, "2026-11-09"),
        (2, "2026-11-09"),
        (3, "2026-10-31"),
        (4, None),
        (5, None),
    ]


def test_the_reminders_already_written_keep_the_moment_they_tell_of(tmp_path: Path):
    """A deadline's reminders get their deadline's due time, a meeting's its start, a declared one none (its
    anchor is read from the workflow file): what reconcile_case compares a row sent already by."""
    rows = [
        *OLD_REMINDER_ROWS[:3],
        "INSERT INTO deadline (id, case_id, kind, due_at)"
        " VALUES (4, 1, 'follow_up', '2026-12-03 22:59:00.000000')",
        "INSERT INTO meeting (id, case_id, kind, status, mode, starts_at, ends_at, uid, sequence) VALUES"
        " (5, 1, 'follow_up', 'planned', 'video', '2026-12-10 09:00:00.000000', '2026-12-10 10:00:00.000000',"
        " 'm5', 0)",
        *(
            "INSERT INTO reminder (id, kind, dedupe_key, case_id, deadline_id, meeting_id, template, due_at,"
            " status, late, attempts, created_at)"
            f" VALUES ({n}, '{kind}', 'k{n}', 1, {deadline}, {meeting}, 't', :at, 'sent', 0, 1, :at)"
            for n, kind, deadline, meeting in (
                (1, "deadline_missed", 4, "NULL"),
                (2, "meeting_tomorrow", "NULL", 5),
                (3, "workflow", "NULL", "NULL"),
            )
        ),
    ]
    url = f"sqlite:///{tmp_path / 'anchor.sqlite3'}"
    cfg = alembic_config(url)
    command.upgrade(cfg, "c5e7a9b1d3f4")
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            for statement in rows:
                connection.execute(text(statement), {"at": "2026-11-02 09:00:00.000000"})
        command.upgrade(cfg, "b9d1f3a5c7e8")
        with engine.connect() as connection:
            anchors = connection.execute(text("SELECT id, anchor_at FROM reminder ORDER BY id")).all()
        command.downgrade(cfg, "c5e7a9b1d3f4")
        assert "anchor_at" not in {c["name"] for c in inspect(engine).get_columns("reminder")}
    finally:
        engine.dispose()
    assert [tuple(row) for row in anchors] == [
        (1, "2026-12-03 22:59:00.000000"),
        (2, "2026-12-10 09:00:00.000000"),
        (3, None),
    ]


def test_links_an_older_release_sent_again_to_one_recipient_end_as_the_send_would_have_ended_them(
    tmp_path: Path,
):
    """One working link per recipient of a SIP, the newest: each link still working when the next one to the
    same participant was sent ends at that send, naming it; another recipient's link, one revoked or expired
    before, and the newest stay as they were."""
    rows = [
        *OLD_REMINDER_ROWS[:3],
        *(
            "INSERT INTO participant (id, case_id, kind, role, added_at)"
            f" VALUES ({n}, 1, 'narstaende', 'x', :at)"
            for n in (1, 2)
        ),
        *(
            "INSERT INTO personallink (id, person_id, case_id, participant_id, nonce, created_at, expires_at,"
            f" revoked_at) VALUES ({n}, 1, 1, {participant}, 'n{n}', '{sent}', '{expires}', {revoked})"
            for n, participant, sent, expires, revoked in (
                (1, 1, "2026-11-01 09:00:00.000000", "2026-12-01 23:00:00.000000", "NULL"),
                (2, 1, "2026-11-10 09:00:00.000000", "2026-12-10 23:00:00.000000", "NULL"),
                (3, 2, "2026-11-11 09:00:00.000000", "2026-11-12 23:00:00.000000", "NULL"),
                (
                    4,
                    1,
                    "2026-11-20 09:00:00.000000",
                    "2026-12-20 23:00:00.000000",
                    "'2026-11-21 09:00:00.000000'",
                ),
                (5, 2, "2026-11-25 09:00:00.000000", "2026-12-25 23:00:00.000000", "NULL"),
            )
        ),
    ]
    url = f"sqlite:///{tmp_path / 'links.sqlite3'}"
    cfg = alembic_config(url)
    command.upgrade(cfg, "b9d1f3a5c7e8")
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            for statement in rows:
                connection.execute(text(statement), {"at": "2026-11-01 08:00:00.000000"})
        command.upgrade(cfg, "c8e0a2b4d6f9")
        with engine.connect() as connection:
            links = connection.execute(
                text("SELECT id, revoked_at, replaced_by_id FROM personallink ORDER BY id")
            ).all()
    finally:
        engine.dispose()
    assert [tuple(row) for row in links] == [
        (1, "2026-11-10 09:00:00.000000", 2),
        (2, "2026-11-20 09:00:00.000000", 4),
        (3, None, None),
        (4, "2026-11-21 09:00:00.000000", None),
        (5, None, None),
    ]


def test_an_upgrade_stopped_inside_a_migration_on_sqlite_leaves_nothing_of_it_and_runs_again(tmp_path: Path):
    """An upgrade killed or failing inside a migration (here: its backfill refused after it added a column)
    is rolled back whole, DDL included, as on PostgreSQL: the next `db upgrade` applies it again instead of
    failing on what the stopped one had already done ("duplicate column name")."""
    url = f"sqlite:///{tmp_path / 'stopped.sqlite3'}"
    cfg = alembic_config(url)
    # The revision before the migration whose backfill the trigger stops (f4b6d8f0a2c3, the occasion of
    # each Mina SIP candidate), named: later migrations come after it.
    before = ScriptDirectory.from_config(cfg).get_revision("f4b6d8f0a2c3").down_revision
    command.upgrade(cfg, before)
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            case = a_case(1, state="requested", occasion="child", initiator=7)
            for row in (REGION_AND_MUNICIPALITY, a_person(), case):
                connection.execute(text(row))
            connection.execute(
                text(
                    "INSERT INTO case_visibility (organisation_id, case_id, updated_at, state) "
                    "VALUES (7, 1, '2026-12-01', 'requested')"
                )
            )
            connection.execute(
                text(
                    "CREATE TRIGGER stop_the_backfill BEFORE UPDATE ON case_visibility "
                    "BEGIN SELECT RAISE(ABORT, 'the upgrade stopped here'); END"
                )
            )
        with pytest.raises(DBAPIError, match="the upgrade stopped here"):
            command.upgrade(cfg, "head")
        with engine.begin() as connection:
            assert current_revision(connection) == before
            columns = {column["name"] for column in inspect(connection).get_columns("case_visibility")}
            assert "occasion" not in columns
            connection.execute(text("DROP TRIGGER stop_the_backfill"))
        command.upgrade(cfg, "head")
        with engine.connect() as connection:
            assert current_revision(connection) == head_revision()
            occasions = connection.execute(text("SELECT occasion FROM case_visibility")).scalars().all()
            assert occasions == ["child"]
            assert schema_diff(connection) == []
    finally:
        engine.dispose()


@pytest.mark.parametrize(("column", "value"), [("link_id", "5"), ("id_hash", "'ab12'")])
def test_going_back_before_an_access_log_column_a_row_holds_is_refused_and_changes_nothing(
    tmp_path: Path, column: str, value: str
):
    """link_id and id_hash are hashed with their row: dropping them would leave `access-log verify` reporting
    each such row as changed, in the earlier release and in this one after the next upgrade. The downgrade
    says so, pointing to the backup, and leaves the database as it was (the whole run is one transaction)."""
    url = f"sqlite:///{tmp_path / 'back.sqlite3'}"
    cfg = alembic_config(url)
    command.upgrade(cfg, "head")
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO access_log (seq, at, action, purpose, outcome, prev_hash, row_hash, "
                    f"{column}) VALUES (1, '2026-12-05', 'meeting.answer', 'care', 'allowed', 'p', 'r', "
                    f"{value})"
                )
            )
        with pytest.raises(CommandError, match=f"\\({column}\\), 1 of them,.*Restore the backup"):
            command.downgrade(cfg, "a1c3e5f7b9d2")
        with engine.connect() as connection:
            assert current_revision(connection) == head_revision()
            assert schema_diff(connection) == []
            assert connection.execute(text(f"SELECT {column} FROM access_log")).scalar() is not None
    finally:
        engine.dispose()


def test_going_back_before_consent_withdrawn_for_one_organisation_is_refused_once_one_was(tmp_path: Path):
    """The earlier release counts every organisation a consent names as covered: an organisation the person
    withdrew their consent for would see the SIP again. Refused, the database left as it was."""
    url = f"sqlite:///{tmp_path / 'withdrawn.sqlite3'}"
    cfg = alembic_config(url)
    command.upgrade(cfg, "head")
    engine = create_engine(url)  # no foreign keys enforced: the rows name no user
    try:
        with engine.begin() as connection:
            case = a_case(1, state="plan_established", occasion="other_need", initiator=7)
            for row in (REGION_AND_MUNICIPALITY, a_person(), case):
                connection.execute(text(row))
            connection.execute(
                text(
                    "INSERT INTO consent (id, case_id, decision, given_by, form, recorded_at, "
                    "recorded_by_user_id) VALUES (1, 1, 'given', 'person', 'written', '2026-12-01', 1)"
                )
            )
            connection.execute(
                text(
                    "INSERT INTO consentorganisation (consent_id, organisation_id, withdrawn_at) "
                    "VALUES (1, 7, NULL), (1, 8, '2026-12-03')"
                )
            )
        refused = r"withdrawn for one organisation \(1 of them\).*Restore the backup"
        with pytest.raises(CommandError, match=refused):
            command.downgrade(cfg, "a2b4c6d8e0f3")
        with engine.connect() as connection:
            assert current_revision(connection) == head_revision()
            assert schema_diff(connection) == []
    finally:
        engine.dispose()
