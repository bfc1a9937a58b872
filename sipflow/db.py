"""Engine, one session per request, and the unit of work that commits or rolls back as a whole."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from flask import Flask, current_app, g
from sqlalchemy import Date, event, inspect, text, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import InvalidatePoolError, OperationalError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.sql.functions import FunctionElement
from sqlmodel import Session, SQLModel, create_engine

from sipflow import jobs
from sipflow.clock import STOCKHOLM, swedish_day_of_stored

log = logging.getLogger(__name__)
# What an area runs when a unit of work ends: after its commit, or after its rollback; each gets the session.
# Areas subscribe when the app is built (the outbox delivers its mail this way); db.py imports no area.
_after_commit: list[Callable[[Session], None]] = []
_after_rollback: list[Callable[[Session], None]] = []

# Deterministic constraint names: required for SQLite batch migrations and reviewable diffs.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


# The SQL function every SQLite connection has for the Swedish calendar day of a stored instant.
SQLITE_SWEDISH_DAY = "sipflow_swedish_day"


class swedish_day(FunctionElement):  # noqa: N801  (an SQL function, named as one)
    """The Swedish (Europe/Stockholm) calendar day of a stored instant (SQL): the day a statistic counts an
    instant on, the day a reminder was written on; never UTC's (00:30 in Sweden is the day before in UTC)."""

    type = Date()
    inherit_cache = True
    name = "swedish_day"


@compiles(swedish_day, "sqlite")
def _swedish_day_sqlite(element, compiler, **kw) -> str:
    # A Python function every connection registers (_sqlite_pragmas): the same tz database as sipflow.clock.
    (moment,) = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"{SQLITE_SWEDISH_DAY}({moment})"


@compiles(swedish_day)
def _swedish_day_default(element, compiler, **kw) -> str:
    # PostgreSQL: a timestamptz AT TIME ZONE is the wall-clock time there.
    (moment,) = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"CAST(({moment}) AT TIME ZONE '{STOCKHOLM.key}' AS DATE)"


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.close()
    # SQLite knows no time zones: the Swedish calendar days (swedish_day) ask Python.
    dbapi_connection.create_function(SQLITE_SWEDISH_DAY, 1, swedish_day_of_stored, deterministic=True)


# How long a connection may rest in the pool and still be taken as alive without a ping (HikariCP's
# "alive bypass window"): one back from a request a moment ago was working then.
PING_AFTER_IDLE_SECONDS = 1.0
_CHECKED_IN_AT = "sipflow.checked_in_at"


def make_engine(url: str, *, ping_after_idle: float = PING_AFTER_IDLE_SECONDS) -> Engine:
    """Create the engine for url; SQLite gets WAL, foreign keys and a busy timeout on every connection.

    A pooled connection is pinged when taken after resting ping_after_idle seconds or more. A database
    error's text leaves out the statement's parameters: they hold names, e-mail addresses and session
    tokens, and the error reaches the log.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False}, hide_parameters=True)
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        engine = create_engine(url, hide_parameters=True)
        if engine.dialect.driver == "psycopg":
            _end_reads_in_commit(engine)
    _ping_when_idle(engine, ping_after_idle)
    return engine


# Whether the transaction wrote anything: an id is only assigned by a write (or a row lock) (PostgreSQL 13+).
_WROTE_NOTHING = "SELECT pg_current_xact_id_if_assigned() IS NULL"


def _end_reads_in_commit(engine: Engine) -> None:
    """End a PostgreSQL transaction that wrote nothing in COMMIT where SQLAlchemy would roll it back.

    psycopg forgets the statements it prepared at every ROLLBACK (the rollback may have dropped what
    they name), and a session ends each request's reads in one: so no statement was ever prepared and
    every one was planned afresh (planning took about 40 % of the case page's time in the database).
    For a transaction that wrote nothing COMMIT is the same to the database. The server is asked rather
    than trusting what went through SQLAlchemy: the bulk loader writes through the driver's COPY.

    The engine's dialect's do_rollback is where a connection's rollback and the pool's reset on return
    both end; it is wrapped there, not listened to as the engine's "rollback" event: an engine with a
    connection event dispatches four events at every statement (about 1.5 ms of Python per SIP's
    lifecycle), and the pool's reset would not have been seen.
    """
    import psycopg  # the PostgreSQL driver: not loaded on SQLite

    dialect = engine.dialect
    roll_back = dialect.do_rollback

    def do_rollback(dbapi_connection) -> None:
        driver = getattr(dbapi_connection, "driver_connection", dbapi_connection)
        # Idle (nothing to end), failed or closed: roll back as asked.
        if not driver.closed and driver.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS:
            try:
                if driver.execute(_WROTE_NOTHING).fetchone()[0]:
                    driver.commit()  # the rollback below finds the connection idle: sends nothing
            except psycopg.Error:
                pass  # the rollback below meets the same trouble and reports it as usual
        roll_back(dbapi_connection)

    dialect.do_rollback = do_rollback


def _ping_when_idle(engine: Engine, after_seconds: float) -> None:
    """Ping a pooled connection on checkout when it rested longer than after_seconds, as pool_pre_ping does.

    pool_pre_ping pings on every checkout: one round trip more per request and per step under load. A
    connection that fails the ping is replaced and every older one in the pool with it (the server went
    away); one that rested less and died meanwhile fails its first statement, which invalidates the pool
    the same way, so only that unit of work is lost.
    """
    dialect = engine.dialect

    @event.listens_for(engine, "checkin")
    def _note_checkin(_dbapi_connection, record) -> None:
        record.info[_CHECKED_IN_AT] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_connection, record, _proxy) -> None:
        checked_in_at = record.info.get(_CHECKED_IN_AT)
        # A connection never checked in is fresh from connect(): nothing to ping.
        if checked_in_at is None or time.monotonic() - checked_in_at < after_seconds:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as exc:
            if not dialect.is_disconnect(exc, dbapi_connection, None):
                raise
            # The pool connects afresh and drops every connection older than this one.
            raise InvalidatePoolError("the database closed a pooled connection") from exc


def init_app(app: Flask) -> None:
    """Attach the engine to the app, close each request's session at teardown, schedule the statistics."""
    app.extensions["sipflow.engine"] = make_engine(app.config["DATABASE_URL"])
    # The planner's statistics drift as cases accumulate; refresh them nightly, Swedish time.
    jobs.register_job("statistics", statistics_job, "cron", hour=3, minute=15, timezone=STOCKHOLM)

    @app.teardown_appcontext
    def _close_session(_exc) -> None:
        session = g.pop("db_session", None)
        if session is not None:
            session.close()


def forget_inherited_connections(app: Flask) -> None:
    """In a process forked from the one that built app (a gunicorn worker of a preloaded app): drop the
    pooled connections it inherited without closing them, which would close them for the parent too; this
    process opens its own (SQLAlchemy's "Using Connection Pools with Multiprocessing or os.fork()")."""
    app.extensions["sipflow.engine"].dispose(close=False)


def get_engine() -> Engine:
    """Return the current app's engine."""
    return current_app.extensions["sipflow.engine"]


def get_session() -> Session:
    """Return the request's session, opened on first use."""
    if "db_session" not in g:
        g.db_session = Session(get_engine(), expire_on_commit=False)
    return g.db_session


def column_rows(session: Session, statement, params: dict | None = None) -> list:
    """The rows of a statement that selects columns only (no mapped object), run as Core on the session.

    The ORM's per-statement set-up and result adaptation cost more than a small read itself (about 40 µs
    against 13 µs for one indexed row, twice the time for the unit picker's 66 rows); a read of plain
    values needs none of it. Runs in the session's transaction and sees what it wrote, as a read through
    the ORM would.
    """
    if session.autoflush:
        session.flush()  # nothing to do (a cheap check) unless objects were changed
    return session.connection().execute(statement, params or {}).all()


def register_after_commit(hook: Callable[[Session], None]) -> None:
    """Run hook(session) after every unit of work that commits; registering a hook twice runs it once."""
    if hook not in _after_commit:
        _after_commit.append(hook)


def register_after_rollback(hook: Callable[[Session], None]) -> None:
    """Run hook(session) after every unit of work that rolls back (to forget work meant for after commit)."""
    if hook not in _after_rollback:
        _after_rollback.append(hook)


@contextmanager
def unit_of_work(session: Session) -> Iterator[Session]:
    """Commit everything done in the block, or roll all of it back if anything raises; then run the hooks."""
    try:
        yield session
        session.commit()
    except BaseException:
        for hook in _after_rollback:
            hook(session)
        session.rollback()
        raise
    for hook in _after_commit:
        try:
            hook(session)
        except Exception:  # noqa: BLE001 - the change is committed; a hook's failure must not undo the answer
            log.exception("after-commit hook %s failed", getattr(hook, "__qualname__", hook))


# The tables and sequences of sipflow's schema the connecting user may not read and write (PostgreSQL):
# each privilege asked alone, since has_table_privilege of a list is true when any one of them is held.
_OUT_OF_REACH = text(
    "SELECT c.relname, pg_get_userbyid(c.relowner) FROM pg_class c"
    " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema() AND ("
    " (c.relkind IN ('r', 'p') AND NOT (has_table_privilege(c.oid, 'SELECT')"
    " AND has_table_privilege(c.oid, 'INSERT') AND has_table_privilege(c.oid, 'UPDATE')"
    " AND has_table_privilege(c.oid, 'DELETE')))"
    " OR (c.relkind = 'S' AND NOT has_sequence_privilege(c.oid, 'USAGE'))) ORDER BY c.relname"
)


def tables_out_of_reach(engine: Engine) -> str | None:
    """Why the user sipflow connects as cannot work in its database's tables, or None (also on SQLite, on
    an empty database and on one that cannot answer yet, which the start and /healthz say otherwise).

    A backup restored by another user (the server's administrator, `pg_restore --no-owner`) leaves every
    table that user's: sipflow would start, /healthz answer ok, and every page and job fail on
    "permission denied"; said at start instead, with what to do.
    """
    if engine.dialect.name != "postgresql":
        return None
    try:
        with engine.connect() as connection:
            user = connection.execute(text("SELECT current_user")).scalar()
            refused = connection.execute(_OUT_OF_REACH).all()
    except OperationalError:
        return None
    finally:
        # No connection of the start is left in the pool for a forked worker to share.
        engine.dispose()
    if not refused:
        return None
    owners = ", ".join(sorted({owner for _name, owner in refused}))
    named = ", ".join(name for name, _owner in refused[:3]) + (", ..." if len(refused) > 3 else "")
    return (
        f"the database user {user} may not read and write {len(refused)} of the database's tables and "
        f"sequences ({named}; owned by {owners}): a backup restored by another user with pg_restore "
        f"--no-owner leaves them that user's. Restore into a database owned by {user} with "
        f"`pg_restore --no-owner --role={user}`, or give the tables to {user}"
    )


def database_status(engine: Engine) -> dict:
    """Answer whether the database is reachable, for /healthz."""
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return {"status": "ok", "backend": engine.dialect.name}
    except Exception as error:  # noqa: BLE001 - any failure means "not reachable" for health checks
        return {"status": "error", "backend": engine.dialect.name, "error": type(error).__name__}


# The tables that have an index, rows and no statistics (an empty table gets none from ANALYZE either).
_SQLITE_TABLES_WITHOUT_STATISTICS = """
SELECT DISTINCT m.tbl_name FROM sqlite_master m
WHERE m.type = 'index' AND m.tbl_name NOT LIKE 'sqlite_%'
  AND m.tbl_name NOT IN (SELECT tbl FROM sqlite_stat1)
"""


def refresh_statistics(connection: Connection, *, full: bool = False) -> None:
    """Give the query planner fresh statistics: SQLite PRAGMA optimize (ANALYZE the first time, or with
    full, after a bulk load), else ANALYZE.

    Without them SQLite picks a single-column index for `case_id = ? AND organisation_id = ?` and walks
    every participant of a large organisation; the composite indexes are only chosen once it knows better.
    """
    if connection.dialect.name == "sqlite":
        # PRAGMA optimize only refreshes statistics that exist; the first time (or once they were
        # cleared) a full ANALYZE writes them.
        analysed = (
            connection.exec_driver_sql("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'").first()
            is not None
            and connection.exec_driver_sql("SELECT 1 FROM sqlite_stat1 LIMIT 1").first() is not None
        )
        if analysed and not full:
            # A migration that rebuilds a table (Alembic's batch mode on SQLite) drops its statistics, and
            # PRAGMA optimize on a fresh connection does not write them again: at a million cases the
            # rebuilt sipcase without them made Mina SIP 100 times slower. Each such table is analysed.
            for (table,) in connection.exec_driver_sql(_SQLITE_TABLES_WITHOUT_STATISTICS).all():
                connection.exec_driver_sql(f'ANALYZE "{table}"')
        connection.exec_driver_sql("PRAGMA optimize" if analysed and not full else "ANALYZE")
    else:
        connection.exec_driver_sql("ANALYZE")
    connection.commit()


def statistics_job(app: Flask) -> None:
    """The scheduled refresh of the planner's statistics."""
    with app.extensions["sipflow.engine"].connect() as connection:
        refresh_statistics(connection)
    log.info("statistics job: planner statistics refreshed")


def _is_write_lock_error(error: OperationalError) -> bool:
    message = str(error.orig).lower()
    return "locked" in message or "busy" in message


@contextmanager
def refused_when_locked(busy: Exception) -> Iterator[None]:
    """Raise busy for SQLite's write-lock refusal within: another request is writing right now.

    For a write that cannot simply be retried (a compare-and-set can: compare_and_set): the unit of work is
    rolled back as for any refusal, and the user sends it again.
    """
    try:
        yield
    except OperationalError as error:
        if not _is_write_lock_error(error):
            raise
        raise busy from None


def mark_written(obj, values: dict) -> None:
    """Take values as obj's committed columns after a Core statement wrote them: no flush visits obj for them.

    set_committed_value alone leaves the object flagged as modified, so the next flush still works through
    it (a unit of work that writes nothing); the flag is cleared when no other attribute of obj changed (one
    set to the value it had is no change: a flush would write nothing for it either).
    """
    for name, value in values.items():
        set_committed_value(obj, name, value)
    state = inspect(obj)
    if state.modified and not any(state.attrs[key].history.has_changes() for key in state.committed_state):
        # The ORM's own bookkeeping after a flush wrote an object: InstanceState._commit_all, a private
        # method of the pinned SQLAlchemy (tests/test_db_mark_written.py fails should it change).
        state._commit_all(state.dict, state.session.identity_map if state.session else None)


def adopt_inserted(session: Session, obj, row_id: int) -> None:
    """Make obj, a new object a Core INSERT wrote as row row_id, the session's object for that row, as if
    it had been read (no flush writes it again).

    A rollback of the transaction that wrote the row leaves the session without obj, as it leaves it
    without an object its flush inserted: SQLite gives the next row the same id, which the session must
    not still hold.
    """
    obj.id = row_id
    make_transient_to_detached(obj)
    session.add(obj)
    adopted_in = session.get_nested_transaction() or session.get_transaction()
    session.info.setdefault(_ADOPTED, []).append((adopted_in, obj))


# [(the transaction a Core INSERT wrote in, the object adopted for its row)]: until the commit.
_ADOPTED = "sipflow.db.adopted"


@event.listens_for(OrmSession, "after_soft_rollback")
def _forget_adopted(session: OrmSession, previous_transaction) -> None:
    """Expunge the objects adopted in the transaction rolled back (or in one nested in it)."""
    adopted = session.info.get(_ADOPTED)
    if not adopted:
        return
    kept = []
    for transaction, obj in adopted:
        within = transaction
        while within is not None and within is not previous_transaction:
            within = within.parent
        if within is None:
            kept.append((transaction, obj))
        elif obj in session:
            session.expunge(obj)
    session.info[_ADOPTED] = kept


@event.listens_for(OrmSession, "after_commit")
def _keep_adopted(session: OrmSession) -> None:
    session.info.pop(_ADOPTED, None)


def insert_unless_taken(session: Session, model, key=None):
    """An ORM INSERT of model RETURNING the object, that does nothing when key's unique value is taken.

    Run it with the row's values (session.scalars(statement, [values]).first()): the object lands in the
    session as a flush would put it there, or None comes back for a value another transaction holds, so a
    concurrent duplicate is not a server error. Both dialects spell it INSERT ... ON CONFLICT DO NOTHING.
    key None: any of the table's unique values (primary key included) taken does nothing.
    """
    dialect_insert = postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = dialect_insert(model)
    if key is not None:
        return statement.on_conflict_do_nothing(index_elements=[key]).returning(model)
    return statement.on_conflict_do_nothing().returning(model)


# Per (table, key column, dialect): the Core INSERT ... ON CONFLICT DO NOTHING RETURNING id, built once.
_ID_INSERTS: dict[tuple[str, str, str], object] = {}


def insert_id_unless_taken(session: Session, table, key):
    """A Core INSERT into table RETURNING the new row's id, that does nothing when key's value is taken.

    Run it with the row's values (session.connection().execute(statement, values).scalar()): the id, or
    None for a value another transaction holds. For a hot path that builds its object itself and adopts
    it (adopt_inserted): the ORM's INSERT RETURNING the object loads every column back through its bulk
    INSERT machinery, built afresh at every call.
    """
    dialect = session.get_bind().dialect.name
    statement = _ID_INSERTS.get((table.name, key.name, dialect))
    if statement is None:
        dialect_insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
        statement = dialect_insert(table).on_conflict_do_nothing(index_elements=[key]).returning(table.c.id)
        _ID_INSERTS[(table.name, key.name, dialect)] = statement
    return statement


def add_unless_taken(session: Session, obj):
    """INSERT obj (a new object, not added) and return the session's object for its row, or None when one of
    its unique values is taken, by a row committed since the service checked it was free (a double submit).

    What the service's check would have said is then its answer too; a flush of session.add(obj) would
    raise IntegrityError instead, a server error with the form lost.
    """
    return session.scalars(insert_unless_taken(session, type(obj)), [_column_values(obj)]).first()


def add_all_unless_taken(session: Session, objs: list) -> list:
    """add_unless_taken of many new objects of one model in one executemany (a statement per thousand rows):
    the session's objects of the rows inserted, in no promised order; one whose unique value is taken
    (committed since the service checked it) is missing from them."""
    if not objs:
        return []
    statement = insert_unless_taken(session, type(objs[0]))
    return list(session.scalars(statement, [_column_values(obj) for obj in objs]).all())


def _column_values(obj) -> dict:
    """A new object's column values for an INSERT, its primary key left to the database when unset."""
    return {
        column.key: getattr(obj, column.key)
        for column in type(obj).__table__.columns
        if not (column.primary_key and getattr(obj, column.key) is None)
    }


def compare_and_set(
    session: Session,
    statement,
    *,
    obj,
    recheck: Callable[[], None],
    busy: Exception,
    params: dict | None = None,
) -> bool:
    """Run a compare-and-set UPDATE that must be the transaction's first write; True when it matched a row.

    SQLite (WAL) refuses a write from a snapshot older than another writer's commit (any table's); as the
    claim is the first write, start afresh, reload obj, recheck it (raising if it moved on) and retry once.
    A second refusal raises busy: someone is writing right now. params: the statement's bind parameters.
    """
    try:
        result = session.execute(statement, params)
    except OperationalError as error:
        if not _is_write_lock_error(error):
            raise
        session.rollback()
        session.refresh(obj)
        recheck()
        try:
            result = session.execute(statement, params)
        except OperationalError as again:
            if not _is_write_lock_error(again):
                raise
            raise busy from None
    return result.rowcount == 1


def bump_row_version(row) -> None:
    """Count row's row_version up by one in the row's own UPDATE (row_version + 1: whatever was read).

    For a change no form version asks about (an import, a button): edit forms read before it become stale.
    """
    row.row_version = type(row).row_version + 1


def claim_row_version(session: Session, row, expected: int | None, *, stale: Exception) -> None:
    """Count row's row_version up by one, as a compare-and-set when expected (the version a form was read at).

    With expected it must be the transaction's first write: a row whose version is no longer expected raises
    stale, so of two saves of forms read at one version only the first gets past. None: bump_row_version.
    """
    if expected is None:
        bump_row_version(row)
        return

    def recheck() -> None:
        if row.row_version != expected:
            raise stale

    recheck()
    table = type(row).__table__
    statement = (
        update(table)
        .where(table.c.id == row.id, table.c.row_version == expected)
        .values(row_version=expected + 1)
    )
    if not compare_and_set(session, statement, obj=row, recheck=recheck, busy=stale):
        raise stale
    mark_written(row, {"row_version": expected + 1})
