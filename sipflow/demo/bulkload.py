"""Writing synthetic rows fast: ids handed out here, one transaction per batch.

Speed (a million cases must load in minutes; figures in bench/README.md):
* on SQLite the INSERTs are the ones SQLAlchemy Core compiles for `insert(table)`, their parameters given
  straight to the DB-API's executemany, already converted to the text SQLAlchemy's SQLite types store
  (Core's per-row parameter processing was two thirds of the time); on PostgreSQL each table's rows of a
  batch go in one COPY (psycopg's `Cursor.copy`), which took a twelfth of the time of Core's executemany;
* for more than one batch, a forked worker process generates batch k+1 while this process writes batch k;
* SQLite gets a larger page cache for the duration of the load, and a load that at least doubles the
  cases builds the loaded tables' secondary indexes (and on PostgreSQL their foreign keys) after it
  instead of inserting into (and checking) them row by row.

Nothing here knows what a case is: it writes the rows a generator yields, in foreign-key order.
"""

from __future__ import annotations

import gc
import json
import logging
import multiprocessing
import traceback
from contextlib import contextmanager
from datetime import UTC, date, datetime
from operator import itemgetter

from sqlalchemy import JSON, Boolean, Date, DateTime, func, insert, text
from sqlalchemy.dialects.sqlite import dialect as sqlite_dialect
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError
from sqlalchemy.schema import AddConstraint
from sqlmodel import Session, select
from sqlmodel.sql.sqltypes import UTCDateTime

from sipflow.cases.models import CaseVisibility, Deadline, Participant, SipCase, TransitionLog
from sipflow.coding.models import CodeRecord
from sipflow.consent.models import Consent, ConsentOrganisation
from sipflow.meetings.models import Attendance, Meeting
from sipflow.people.models import Person

BATCH_SIZE = 10_000
SQLITE_LOAD_CACHE_KIB = 512 * 1024
SQLITE_LOAD_CHECKS_FOREIGN_KEYS = False
SQLITE_LOAD_CHECKPOINT_PAGES = 100_000  # about 400 MB of WAL at 4 KiB pages
PG_INDEX_BUILD_MEMORY = "512MB"
PG_DDL_LOCK_TIMEOUT = "5s"

log = logging.getLogger(__name__)

_ID_TABLES = (Person, SipCase, Participant, Consent, Meeting, Deadline, TransitionLog, CodeRecord)


class Ids:
    """Ids handed out here, after the highest one in each table."""

    def __init__(self, session: Session):
        self.next = {
            model.__tablename__: (session.exec(select(func.max(model.id))).one() or 0) + 1
            for model in _ID_TABLES
        }

    def take(self, table: str) -> int:
        value = self.next[table]
        self.next[table] = value + 1
        return value


class Rows:
    """The rows of one batch, per table, in foreign-key order."""

    ORDER = (
        Person,
        SipCase,
        Participant,
        Consent,
        ConsentOrganisation,
        Meeting,
        Attendance,
        CodeRecord,
        Deadline,
        TransitionLog,
        CaseVisibility,
    )

    def __init__(self):
        self.by_table: dict[str, list[dict]] = {model.__tablename__: [] for model in self.ORDER}

    # Tables whose rows are appended as finished parameter tuples (in these column orders), not as dicts.
    TUPLE_KEYS = {
        "consentorganisation": ("consent_id", "organisation_id"),
        "attendance": ("meeting_id", "participant_id", "mode"),
        "case_visibility": ("organisation_id", "case_id", "updated_at", "state", "occasion"),
        "transitionlog": (
            "id",
            "case_id",
            "at",
            "user_id",
            "organisation_id",
            "trigger",
            "from_state",
            "to_state",
            "reason",
            "details",
        ),
    }

    @classmethod
    def payload(cls, by_table: dict, sqlite: bool) -> tuple[list[dict], list[tuple[str, tuple, list]]]:
        """The batch as persons (dicts: they may still be renumbered) and, per table, its keys and rows.

        The rows become tuples in the order of the keys: the DB-API's parameters on SQLite, COPY's values on
        PostgreSQL. (This runs in the writing process: with a worker generating the batches, it balances
        the work between the two.)
        """
        plan = sqlite_plan if sqlite else copy_plan
        tables = []
        for model in cls.ORDER[1:]:
            name = model.__tablename__
            rows = by_table[name]
            if not rows:
                continue
            keys = cls.TUPLE_KEYS.get(name)
            if keys is None:
                keys = tuple(rows[0])
                _, to_tuple = plan(model.__table__, keys)
                rows = [to_tuple(row) for row in rows]
            tables.append((name, keys, rows))
        return by_table["person"], tables


_TABLES = {model.__tablename__: model.__table__ for model in Rows.ORDER}


def write_batch(connection: Connection, persons: list[dict], tables, sqlite: bool) -> None:
    """Insert one batch, parents before children, in the connection's transaction."""
    plan = sqlite_plan if sqlite else copy_plan
    sql, to_tuple = plan(Person.__table__, tuple(persons[0]))
    batch = [(sql, [to_tuple(row) for row in persons])]
    batch += [(plan(_TABLES[name], keys)[0], rows) for name, keys, rows in tables]
    if sqlite:
        for sql, rows in batch:
            connection.exec_driver_sql(sql, rows)
        return
    # psycopg's COPY, on the DB-API connection inside the transaction SQLAlchemy began.
    with connection.connection.cursor() as cursor:
        for sql, rows in batch:
            with cursor.copy(sql) as copy:
                for row in rows:
                    copy.write_row(row)


def sqlite_datetime(value: datetime | None) -> str | None:
    """value as the text SQLAlchemy's SQLite DATETIME stores."""
    # The text SQLAlchemy's SQLite DATETIME writes for an aware value: UTC as "YYYY-MM-DD HH:MM:SS.ffffff".
    # Formatted from the fields: half the time of replace(tzinfo=None).isoformat(...), and a million
    # cases convert some 40 million values.
    if value is None:
        return None
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return _DATETIME_TEXT % (
        value.year,
        value.month,
        value.day,
        value.hour,
        value.minute,
        value.second,
        value.microsecond,
    )


_DATETIME_TEXT = "%04d-%02d-%02d %02d:%02d:%02d.%06d"


def _sqlite_date(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def _json_encoder():
    # json.dumps builds a new C encoder for every call, which is half its cost on small dicts: build one
    # with json.dumps's default settings once (same output, byte for byte).
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # pragma: no cover - Python without the C accelerator
        return json.dumps
    encode = make(None, json.JSONEncoder().default, json.encoder.encode_basestring_ascii, None, ": ", ", ",
                  False, False, True)  # fmt: skip
    return lambda value: "".join(encode(value, 0))


_to_json = _json_encoder()


def json_text(value: dict | None) -> str | None:
    """value as the text SQLAlchemy's JSON stores (SQLite keeps it so; PostgreSQL's COPY parses it)."""
    if value is None:
        return None
    return _to_json(value) if value else "{}"


def unchanged(value):
    """value as it is (what psycopg takes)."""
    return value


def sqlite_plan(table, keys: tuple[str, ...]):
    """The INSERT that Core compiles for table and keys, and a function turning a row into its parameters.

    Core's executemany processes every parameter of every row in Python (about two thirds of the time a
    batch took on SQLite); here the few typed columns are converted to the exact text SQLAlchemy's SQLite
    types store, and the rest goes to the DB-API as it is.
    """
    cached = _SQLITE_PLANS.get((table.name, keys))
    if cached is not None:
        return cached
    compiled = insert(table).compile(dialect=sqlite_dialect(), column_keys=list(keys))
    order = list(compiled.positiontup)
    if table.name in Rows.TUPLE_KEYS and tuple(order) != keys:  # pragma: no cover - a model changed
        raise AssertionError(f"{table.name}: columns {order}, rows built as {keys}")
    converters = []
    for position, key in enumerate(order):
        column_type = table.c[key].type
        if isinstance(column_type, UTCDateTime | DateTime):
            converters.append((position, sqlite_datetime))
        elif isinstance(column_type, Date):
            converters.append((position, _sqlite_date))
        elif isinstance(column_type, JSON):
            converters.append((position, json_text))
        elif isinstance(column_type, Boolean):
            converters.append((position, lambda v: None if v is None else int(v)))
    getter = itemgetter(*order)
    if converters:

        def to_tuple(row: dict) -> tuple:
            values = list(getter(row))
            for position, convert in converters:
                values[position] = convert(values[position])
            return tuple(values)

    else:

        def to_tuple(row: dict) -> tuple:
            return getter(row)

    _SQLITE_PLANS[(table.name, keys)] = plan = (str(compiled), to_tuple)
    return plan


_SQLITE_PLANS: dict = {}


def copy_plan(table, keys: tuple[str, ...]):
    """PostgreSQL: the COPY of table's columns keys, and a function turning a row into its values.

    psycopg sends each value as the text PostgreSQL parses for its column; only JSON needs its text made
    here (a dict has no adapter of its own). Aware datetimes go as they are, as Core sends them.
    """
    cached = _COPY_PLANS.get((table.name, keys))
    if cached is not None:
        return cached
    json_positions = [i for i, key in enumerate(keys) if isinstance(table.c[key].type, JSON)]
    getter = itemgetter(*keys)
    if json_positions:

        def to_tuple(row: dict) -> tuple:
            values = list(getter(row))
            for position in json_positions:
                values[position] = json_text(values[position])
            return tuple(values)

    else:

        def to_tuple(row: dict) -> tuple:
            return getter(row)

    columns = ", ".join(f'"{key}"' for key in keys)
    _COPY_PLANS[(table.name, keys)] = plan = (f'COPY "{table.name}" ({columns}) FROM STDIN', to_tuple)
    return plan


_COPY_PLANS: dict = {}


def free_identifiers(connection: Connection, renumberer, persons: list[dict]) -> None:
    """Renumber the few persons whose identifier a person in the database already has."""
    # Besides the database, a new identifier must not repeat one of this batch (not inserted yet).
    renumberer.used = {p["id_number"] for p in persons}
    pending = persons
    while pending:
        taken = set()
        for start in range(0, len(pending), 500):
            chunk = [p["id_hash"] for p in pending[start : start + 500]]
            taken.update(
                connection.execute(select(Person.id_hash).where(Person.id_hash.in_(chunk))).scalars()
            )
        pending = [p for p in pending if p["id_hash"] in taken]
        for person in pending:
            renumberer.renumber(person)


def generate(add, first: int, n: int, batch_size: int):
    """Yield (size, rows by table) per batch; add(rows, index, number) appends the rows of one case."""
    done = 0
    while done < n:
        size = min(batch_size, n - done)
        rows = Rows()
        for index in range(done, done + size):
            add(rows, index, first + index)
        done += size
        yield size, rows.by_table


def can_fork() -> bool:
    """True where a worker process can be forked to generate batches."""
    return "fork" in multiprocessing.get_all_start_methods()


@contextmanager
def collected_per_batch():
    """The cyclic garbage collector off for the load; call what this yields once per batch instead.

    The rows are dicts and tuples without cycles, freed by reference counting. The automatic collector
    still went through the young containers every few hundred allocations and now and then through the
    whole heap: 5-10 % of the time it took to generate a batch. Objects from before the load are frozen
    out of the per-batch collection; a forked worker inherits all this.
    """
    enabled = gc.isenabled()
    gc.freeze()
    gc.disable()
    try:
        yield gc.collect
    finally:
        gc.unfreeze()
        if enabled:
            gc.enable()


def _worker(batches, sender) -> None:
    """In the forked child: generate every batch and send it; never touch the database."""
    try:
        for item in batches:
            sender.send(("batch", item))
            del item
            gc.collect()  # the cycles of one batch, if any (automatic collection is off, as in the parent)
        sender.send(("done", None))
    except BaseException:  # noqa: BLE001 - whatever failed is reported to the parent, which raises it
        sender.send(("error", traceback.format_exc()))
    finally:
        sender.close()


def from_worker(batches):
    """Yield the batches generated by a forked child process, one batch ahead of the writer."""
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=_worker, args=(batches, sender), name="sipflow-synthetic", daemon=True)
    process.start()
    sender.close()
    try:
        while True:
            try:
                kind, item = receiver.recv()
            except EOFError:
                raise RuntimeError("the synthetic case generator stopped without a word") from None
            if kind == "done":
                return
            if kind == "error":
                raise RuntimeError(f"the synthetic case generator failed:\n{item}")
            yield item
    finally:
        receiver.close()
        if process.is_alive():
            process.terminate()
        process.join()


@contextmanager
def bulk_load_pragmas(connection: Connection, sqlite: bool):
    """SQLite: pragmas for the load on the loader's own connection, and the connection's own ones after it.

    * a page cache of up to SQLITE_LOAD_CACHE_KIB: the unique indexes on random keys (uid, id_hash) touch
      pages all over their B-trees, and with the default 2 MiB every insert reads pages back from the file
      once the tables are large;
    * foreign keys unchecked unless SQLITE_LOAD_CHECKS_FOREIGN_KEYS: every reference is built here to a row
      of the same batch or to an organisation, unit or user looked up before (tests/test_demo.py checks
      that the rows hang together), and the checks cost a sixth of the writing time;
    * a WAL checkpoint every SQLITE_LOAD_CHECKPOINT_PAGES pages rather than every 1000: each batch touches
      most leaf pages of those random-key indexes again, and checkpointing after every batch wrote them
      back to the database file each time (a million cases: 33 GB written instead of 27 GB).
    """
    if not sqlite:
        yield
        return
    before = {
        name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()
        for name in ("cache_size", "foreign_keys", "wal_autocheckpoint")
    }
    connection.commit()  # these pragmas cannot change inside a transaction; each batch begins its own
    connection.exec_driver_sql(f"PRAGMA cache_size=-{SQLITE_LOAD_CACHE_KIB}")
    connection.exec_driver_sql(f"PRAGMA foreign_keys={int(SQLITE_LOAD_CHECKS_FOREIGN_KEYS)}")
    connection.exec_driver_sql(f"PRAGMA wal_autocheckpoint={SQLITE_LOAD_CHECKPOINT_PAGES}")
    connection.commit()
    try:
        yield
    finally:
        connection.rollback()
        for name, value in before.items():
            connection.exec_driver_sql(f"PRAGMA {name}={int(value)}")
        connection.commit()
        # Fold the (large) WAL into the database now, rather than leave it to the next writer.
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        connection.commit()


def restore_missing_indexes_and_foreign_keys(connection: Connection) -> None:
    """Build each index and foreign key of the loaded tables that the models name and the database lacks."""
    # Only a load killed outright, between dropping them and building them again, leaves any.
    for model in Rows.ORDER:
        for index in model.__table__.indexes:
            index.create(connection, checkfirst=True)
    if connection.dialect.name != "postgresql":
        return  # SQLite's load keeps its foreign keys (it only stops checking them)
    present = {name for _, name, _ in loaded_tables_foreign_key_sql(connection)}
    for model in Rows.ORDER:
        for constraint in model.__table__.foreign_key_constraints:
            if constraint.name not in present:
                connection.execute(AddConstraint(constraint))


def _loaded_table_names() -> list[str]:
    return [model.__tablename__ for model in Rows.ORDER]


_PG_INDEX_SQL = text(
    "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x"
    " JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid"
    " WHERE t.relname = ANY(:names) AND t.relnamespace = current_schema()::regnamespace"
    " AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)"
    " ORDER BY t.relname, i.relname"
)
_PG_FOREIGN_KEY_SQL = text(
    "SELECT t.relname, c.conname, pg_get_constraintdef(c.oid) FROM pg_constraint c"
    " JOIN pg_class t ON t.oid = c.conrelid"
    " WHERE c.contype = 'f' AND t.relname = ANY(:names) AND t.relnamespace = current_schema()::regnamespace"
    " ORDER BY t.relname, c.conname"
)


def loaded_tables_index_sql(connection: Connection) -> list[tuple[str, str]]:
    """The name and CREATE statement of each index of the loaded tables that may be dropped.

    That is every index a migration created; the ones behind a primary key or UNIQUE constraint (no SQL of
    their own on SQLite; a constraint's index on PostgreSQL) stay: with them `person.id_hash`, which
    `free_identifiers` reads during the load.
    """
    names = _loaded_table_names()
    if connection.dialect.name == "postgresql":
        return [(name, sql) for name, sql in connection.execute(_PG_INDEX_SQL, {"names": names})]
    marks = ", ".join("?" * len(names))
    return [
        (name, sql)
        for name, sql in connection.exec_driver_sql(
            f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
            f"AND tbl_name IN ({marks}) ORDER BY tbl_name, name",
            tuple(names),
        )
    ]


def loaded_tables_foreign_key_sql(connection: Connection) -> list[tuple[str, str, str]]:
    """PostgreSQL: the table, name and definition of each foreign key of the loaded tables."""
    return list(connection.execute(_PG_FOREIGN_KEY_SQL, {"names": _loaded_table_names()}))


def _lock_not_available(error: OperationalError) -> bool:
    """Whether PostgreSQL refused a statement because lock_timeout passed (SQLSTATE 55P03)."""
    return getattr(error.orig, "sqlstate", None) == "55P03"


@contextmanager
def indexes_built_after(connection: Connection, defer: bool):
    """With defer: the loaded tables' secondary indexes (and on PostgreSQL foreign keys) dropped for the load.

    Most of the indexes have random keys (times, hashes, uids). On SQLite every batch dirtied most of their
    leaf pages again, and at a million cases they outgrow the page cache, so each insert read pages back and
    each commit wrote them to the WAL once more. On PostgreSQL each row's insert into them, and each row's
    foreign-key check (a lookup in the parent's primary key), was most of the server's work: 1 182 against
    2 711 cases/s at 100 000. Building an index at the end is one sort of the finished table, and adding a
    foreign key one join of it with its parent. It only pays when the load makes up most of the database,
    so the caller asks for it only then (a small load into a large database keeps its indexes and inserts
    into them).

    PostgreSQL's DROP needs the tables to itself: if another session holds a lock on one of them for
    longer than PG_DDL_LOCK_TIMEOUT, the load keeps indexes and foreign keys in place and says so in the
    log, rather than wait behind (or block) that session. What was dropped is rebuilt, from the very
    statements that made it, whatever ends the load; a process killed outright leaves it missing until
    the next load, which first builds any index or foreign key the models name and the database lacks.
    """
    if not defer:
        yield
        return
    postgresql = connection.dialect.name == "postgresql"
    try:
        with connection.begin():
            if postgresql:
                connection.exec_driver_sql(f"SET LOCAL lock_timeout = '{PG_DDL_LOCK_TIMEOUT}'")
            foreign_keys = loaded_tables_foreign_key_sql(connection) if postgresql else []
            for table, name, _ in foreign_keys:
                connection.exec_driver_sql(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"')
            indexes = loaded_tables_index_sql(connection)
            for name, _ in indexes:
                connection.exec_driver_sql(f'DROP INDEX "{name}"')
    except OperationalError as error:
        if not (postgresql and _lock_not_available(error)):
            raise
        log.info("synthetic load: another session holds a lock on the loaded tables; indexes and keys kept")
        # The DROPs were rolled back: nothing to build again. The load runs outside this except, so an
        # error of the load is not chained to the refused DROP.
        foreign_keys, indexes = [], []
    try:
        yield
    finally:
        if connection.in_transaction():
            connection.rollback()
        with connection.begin():
            if postgresql:
                # Each build sorts its table in memory rather than in temporary files (64 MB by default).
                connection.exec_driver_sql(f"SET LOCAL maintenance_work_mem = '{PG_INDEX_BUILD_MEMORY}'")
            for _, sql in indexes:
                connection.exec_driver_sql(sql)
            # No lock_timeout here: they must come back, so this waits for any session in the way.
            for table, name, definition in foreign_keys:
                connection.exec_driver_sql(f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {definition}')


def forget_plans(connection: Connection) -> None:
    """PostgreSQL: drop the query plans the connection's session keeps, before a load.

    Each foreign-key check of a COPY is a query on the parent table whose plan PostgreSQL keeps for the
    session. Planned while the tables were (nearly) empty (the demo's persona cases go in on the same pooled
    connection just before), that plan reads the whole parent table for every child row, and the load grew
    quadratic: 74 cases a second over its first 5 000. Planned again in the load, the checks are the
    primary key lookups they are.
    """
    connection.exec_driver_sql("DISCARD PLANS")
    connection.commit()


def analyse_loaded_tables(connection: Connection) -> None:
    """PostgreSQL: ANALYZE the loaded tables (after the first batch), in a transaction of its own.

    The planner then knows them as large (the foreign-key checks' plans, made again, stay index lookups).
    """
    names = ", ".join(f'"{name}"' for name in _loaded_table_names())
    with connection.begin():
        connection.exec_driver_sql(f"ANALYZE {names}")


def sync_sequences(connection: Connection) -> None:
    """PostgreSQL: move each id sequence past the ids assigned here."""
    for model in _ID_TABLES:
        table = model.__tablename__
        connection.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
                f'(SELECT coalesce(max(id), 0) + 1 FROM "{table}"), false)'
            )
        )
