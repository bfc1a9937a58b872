"""Alembic environment: SQLModel metadata, plain SQLAlchemy types in migrations, batch mode for SQLite."""

from __future__ import annotations

import hashlib
import logging
import warnings
from contextlib import contextmanager

from alembic import context
from sqlalchemy import event, text
from sqlmodel import SQLModel
from sqlmodel.sql.sqltypes import AutoString

import sipflow.db  # noqa: F401  (sets the naming convention)
import sipflow.models  # noqa: F401  (registers every table)
from sipflow.db import make_engine

target_metadata = SQLModel.metadata

log = logging.getLogger("sipflow.migrations")

# One `db upgrade` (or `db downgrade`) at a time per PostgreSQL database: each web node's deploy may run it at
# the same moment. A fixed 64-bit key derived from a name, as the scheduler's (another name, another key).
MIGRATION_LOCK_KEY = int.from_bytes(hashlib.sha256(b"sipflow.migrations").digest()[:8], "big", signed=True)


def render_item(type_, obj, autogen_context):
    """Render sqlmodel's own types as plain SQLAlchemy, so migrations never import sqlmodel."""
    if type_ == "type" and isinstance(obj, AutoString):
        return f"sa.String(length={obj.length})" if obj.length else "sa.String()"
    if type_ == "type" and type(obj).__name__ == "UTCDateTime":
        return "sa.DateTime(timezone=True)"
    return False


def compare_type(context_, inspected_column, metadata_column, inspected_type, metadata_type):
    """Treat sqlmodel's UTC datetime as the DateTime the migrations write."""
    if type(metadata_type).__name__ == "UTCDateTime":
        return False
    return None


def run_migrations() -> None:
    """Run the migrations against the configured URL (online only: sipflow always has a database)."""
    connectable = context.config.attributes.get("connection")
    if connectable is None:
        engine = make_engine(context.config.get_main_option("sqlalchemy.url"))
        with engine.connect() as connection:
            _run(connection)
        engine.dispose()
    else:
        _run(connectable)


def _run(connection) -> None:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        # Batch mode rebuilds a table (copy, drop, rename): with foreign keys enforced, dropping a table that
        # others reference fails. SQLite ignores this pragma inside a transaction, so it goes first; the
        # check at the end proves the rebuilt tables still satisfy every foreign key.
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        connection.commit()  # ends SQLAlchemy's implicit transaction, so Alembic's own one commits
        with _sqlite_transactional_ddl(connection):
            _migrate(connection, sqlite)
    else:
        _migrate(connection, sqlite)
    if sqlite:
        broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        connection.exec_driver_sql("PRAGMA foreign_keys=ON")
        connection.commit()
        if broken:
            raise RuntimeError(f"the migration left rows that break foreign keys: {broken[:5]}")


@contextmanager
def _sqlite_transactional_ddl(connection):
    """The whole run one SQLite transaction, its DDL included, as on PostgreSQL.

    Python's sqlite3 opens a transaction only before an INSERT, UPDATE or DELETE, so a CREATE or ALTER (a
    batch rebuild's copy table, an added column, an index) committed at once: an upgrade killed inside a
    migration left its first statements applied under the previous revision, and running `db upgrade` again
    failed on them ("table _alembic_tmp_participant already exists"). Here the driver leaves transactions
    alone and the transaction SQLAlchemy begins (Alembic's, with the version row; transactional_ddl) is an
    explicit BEGIN, so a killed or refused run is rolled back whole and the next one starts where it did.
    """
    driver = connection.connection.driver_connection
    isolation_level = driver.isolation_level

    def begin(conn) -> None:
        conn.exec_driver_sql("BEGIN")

    driver.isolation_level = None
    event.listen(connection, "begin", begin)
    try:
        yield
    finally:
        event.remove(connection, "begin", begin)
        driver.isolation_level = isolation_level


def _migrate(connection, sqlite: bool) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_item=render_item,
        render_as_batch=True,
        compare_type=compare_type,
        # SQLite's DDL is transactional once the driver leaves it alone (_sqlite_transactional_ddl).
        transactional_ddl=True,
    )
    with context.begin_transaction(), warnings.catch_warnings():
        if sqlite:
            # A batch rebuild reflects the tables the rebuilt one refers to, "user" among them, whose
            # expression indexes (ix_user_email_lower, ...) SQLite cannot reflect: a warning about a table
            # the rebuild reads and leaves alone. A rebuild of "user" itself would lose them; the query-plan
            # tests, run on a migrated database, would then fail.
            warnings.filterwarnings("ignore", message="Skipped unsupported reflection of expression-based")
        if connection.dialect.name == "postgresql":
            _wait_for_other_migrations(connection)
        context.run_migrations()


def _wait_for_other_migrations(connection) -> None:
    """Take the migrations' lock for this transaction, waiting while another process migrates the database.

    Alembic reads the database's revision only after this, so a second `db upgrade` started while the first
    runs finds the migrations applied and does nothing, instead of applying them again (a column added
    twice fails that deploy; a data migration would run twice). The lock ends with the transaction.
    """
    key = {"key": MIGRATION_LOCK_KEY}
    if not connection.execute(text("SELECT pg_try_advisory_xact_lock(:key)"), key).scalar():
        log.info("another process is migrating this database; waiting for it to finish")
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), key)


run_migrations()
