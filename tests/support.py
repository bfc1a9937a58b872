"""Test helpers that are not fixtures: the builders of test worlds, valid identifiers, firing a step, the
log scan and emptying the database (import as `support`).

The builders (`new_unit`, `new_user`, `new_person`, `new_case`) are the one way a test makes organisations,
units, users, persons and cases. They flush but never commit, so code that cannot take fixtures (hypothesis
examples, module-scoped worlds) calls them directly; the conftest factories `make_unit`, `make_user`,
`make_person` and `create_case` call them and commit, and flowkit's cast and the access matrix's world are
made of them."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import TypeVar

from sqlalchemy import String, delete, event, exists, literal, select, text, union_all
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel
from webkit import TEST_PASSWORD

import sipflow.models  # noqa: F401  (every table)
from sipflow.cases import services
from sipflow.cases.models import SipCase
from sipflow.cases.scripted import fire_scripted, scripted_input
from sipflow.cases.services import forget_unit_organisations
from sipflow.db import unit_of_work
from sipflow.people.identifiers import IdentifierError, luhn_check_digit, parse_identifier
from sipflow.people.models import Organisation, Person, Unit, User
from sipflow.people.services import register_person
from sipflow.security.passwords import hash_password

# The `sip` workflow from request to closing, one trigger per step (lifecycle and statement tests).
SIP_HAPPY_PATH = (
    "give_consent",
    "start_preparation",
    "send_kallelse",
    "hold_meeting",
    "establish_plan",
    "follow_up",
    "revise_plan",
    "close",
)
FIXED_NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
# Reference tables (and the code catalogue the migrations seed) survive between tests; the rest is emptied.
# So does the directory's token row: emptying the units replaces its token (the database's triggers).
KEPT_TABLES = frozenset({"county", "municipality", "code_definition", "alembic_version", "directory_version"})
# Children before parents, so deleting in this order never trips a foreign key.
EMPTIED_TABLES = [t for t in reversed(SQLModel.metadata.sorted_tables) if t.name not in KEPT_TABLES]
_IDENTIFIER_LIKE = re.compile(r"(?<!\d)(?:\d{2})?\d{6}[-+]?\d{4}(?!\d)")
# Numbers the builders put in keys, names and personnummer serials: no two alike in one test run.
_numbers = itertools.count(1)


# The code assignments the migrations seed (a7b9c1d3e5f7: region XU045, municipality AU124). They are emptied
# after a worker's first test, like every table but the reference ones: a test that needs the codes a real
# install records (the demo's held meetings) sets them again.
DEFAULT_CODES = {"region": "XU045", "municipality": "AU124"}


def seed_default_codes(session: Session) -> None:
    """Set the migrations' default code assignments again, whatever an earlier test left."""
    from sipflow.coding.models import CodeAssignment

    session.exec(delete(CodeAssignment))
    session.add_all(CodeAssignment(organisation_kind=kind, code=code) for kind, code in DEFAULT_CODES.items())
    session.commit()


def valid_personnummer(birth: date, serial: int = 238) -> str:
    """A valid 12-digit personnummer for birth and a three-digit serial."""
    nine = birth.strftime("%y%m%d") + f"{serial:03d}"
    return birth.strftime("%Y%m%d") + f"{serial:03d}" + str(luhn_check_digit(nine))


def next_number() -> int:
    """A number no earlier call in this test run returned (for keys, usernames and serials)."""
    return next(_numbers)


# --- Builders of test worlds --------------------------------------------------------------------------------


@cache
def password_hash_for_tests() -> str:
    """The hash of TEST_PASSWORD every built user gets: hashed once, by the testing app's cheap argon2.

    Called only once an app exists (create_app chooses the cheap parameters), so logins never rehash.
    """
    return hash_password(TEST_PASSWORD)


def new_unit(
    session: Session,
    kind: str = "region",
    name: str | None = None,
    *,
    health_care: bool | None = None,
    unit_name: str = "Enhet {n}",
    key: str | None = None,
    county_code: str | None = "07",
) -> Unit:
    """An organisation of kind (named name, else "<kind> <n>") of county_code (None: no county, a national
    one) with one unit; flushed; returns the unit."""
    n = next_number()
    tag = f"{key}-{n}" if key else str(n)
    org = Organisation(key=f"org-{tag}", name=name or f"{kind} {n}", kind=kind, county_code=county_code)
    session.add(org)
    session.flush()
    unit = Unit(
        key=f"unit-{tag}",
        organisation_id=org.id,
        name=unit_name.format(n=n, name=name or kind),
        is_health_care=(kind == "region") if health_care is None else health_care,
    )
    session.add(unit)
    session.flush()
    return unit


def new_user(
    session: Session,
    unit: Unit | None,
    roles: str = "staff",
    username: str | None = None,
    *,
    display_name: str = "Användare {n}",
    email: str | None = "user{n}@example.se",
) -> User:
    """A user of unit (None: no unit) with roles and password TEST_PASSWORD; flushed.

    `{n}` in display_name and email is replaced by a number of this run, as is the default username's.
    """
    n = next_number()
    user = User(
        username=(username or "user{n}").format(n=n),
        display_name=display_name.format(n=n),
        email=email.format(n=n) if email else None,
        password_hash=password_hash_for_tests(),
        unit_id=unit.id if unit else None,
        roles=roles,
    )
    session.add(user)
    session.flush()
    return user


def new_person(
    session: Session,
    hash_key: str,
    *,
    now: datetime,
    birth: date = date(1990, 5, 17),
    serial: int | None = None,
    municipality: str = "0780",
    given_name: str = "Testa",
    family_name: str = "Person",
) -> Person:
    """A registered person with a valid personnummer (a serial of this run unless given); flushed."""
    pnr = valid_personnummer(birth, serial if serial is not None else next_number() % 1000)
    return register_person(
        session,
        hash_key,
        parse_identifier(pnr, today=now.date()),
        given_name=given_name,
        family_name=family_name,
        home_municipality_code=municipality,
        now=now,
    )


def new_case(
    session: Session,
    registry,
    actor: User,
    *,
    workflow: str,
    person: Person,
    unit_ids: list[int],
    now: datetime,
    utskrivningsklar_at: datetime | None = None,
) -> SipCase:
    """A case of workflow started by actor, with the units taking part; not committed.

    A start date the workflow's file asks for (`start_dates`) and the caller leaves out is now.
    """
    asks = workflow in registry.names() and "utskrivningsklar_at" in registry.latest(workflow).start_dates
    if utskrivningsklar_at is None and asks:  # an unknown name is the service's to refuse
        utskrivningsklar_at = now
    return services.create_case(
        session,
        registry,
        actor,
        workflow_name=workflow,
        person=person,
        unit_ids=unit_ids,
        now=now,
        utskrivningsklar_at=utskrivningsklar_at,
    )


def two_guardians(session: Session, registry, case: SipCase, *, now: datetime) -> list:
    """Add two guardians (Vårdnadshavare Ett and Två, parents, no address) to case; not committed."""
    return [
        services.add_private_participant(
            session,
            registry,
            case,
            kind="guardian",
            name=name,
            relation="förälder",
            email=None,
            phone=None,
            now=now,
        )
        for name in ("Vårdnadshavare Ett", "Vårdnadshavare Två")
    ]


def fire(
    session, registry, actor, case, trigger: str, *, now: datetime, data: dict | None = None, **overrides
):
    """Fire trigger in one unit of work (commit, or roll back and re-raise); return its log row.

    The input is data, or else the scripted input of the step's form; overrides go on top of either.
    The one way every test folder moves a case by the service layer (meetingkit, flowkit and the case
    tests wrap it with their own argument order).
    """
    if data is None:
        transition = registry.get(case.workflow_name, case.workflow_version).transition(case.state, trigger)
        data = scripted_input(session, case, transition.form if transition else "none", now)
    with unit_of_work(session):
        return fire_scripted(session, registry, actor, case, trigger, now=now, data=data | overrides)


def fired_with_statements(
    session, registry, actor, case, engine, triggers=SIP_HAPPY_PATH, *, start: datetime
) -> Iterator[tuple[str, list[str]]]:
    """Fire triggers a minute apart after start, each with its scripted input prepared first (outside the
    count, as bench/transitions.py keeps it out); yield (trigger, the statements the step itself sent)."""
    for minute, trigger in enumerate(triggers, start=1):
        at = start + timedelta(minutes=minute)
        form = registry.get(case.workflow_name, case.workflow_version).transition(case.state, trigger).form
        data = scripted_input(session, case, form, at)
        with statements(engine) as seen:
            fire(session, registry, actor, case, trigger, now=at, data=data)
        yield trigger, seen


def personnummer_in(lines: list[str]) -> list[str]:
    """The lines holding a valid personnummer or samordningsnummer (check digit and date right)."""
    found = []
    for line in lines:
        for match in _IDENTIFIER_LIKE.finditer(line):
            try:
                parse_identifier(match.group(0), today=FIXED_NOW.date())
            except IdentifierError:
                continue
            found.append(line)
            break
    return found


@cache
def _reset_sql(dialect_name: str, dialect) -> tuple[str, dict[str, str]]:
    """The probe asking which emptied tables hold rows, and a DELETE per table, as SQL text for dialect.

    Compiled once per dialect: building and caching the probe (a SELECT per table, in one UNION ALL) cost
    more than running it, after every test.
    """
    probes = [
        select(literal(t.name, String).label("name")).where(exists().select_from(t)) for t in EMPTIED_TABLES
    ]
    probe = union_all(*probes).compile(dialect=dialect, compile_kwargs={"literal_binds": True})
    deletes = {t.name: str(t.delete().compile(dialect=dialect)) for t in EMPTIED_TABLES}
    return str(probe), deletes


def tables_with_rows(connection) -> list:
    """The emptied tables that hold at least one row (children first), found in one query."""
    probe, _deletes = _reset_sql(connection.dialect.name, connection.dialect)
    found = set(connection.exec_driver_sql(probe).scalars())
    return [t for t in EMPTIED_TABLES if t.name in found]


def empty_tables(engine: Engine) -> None:
    """Delete every row but the reference data, touching only the tables that hold any (children first).

    Most tests write to a handful of tables: asking once which tables hold rows is far cheaper than a
    DELETE per table. DELETE rather than TRUNCATE: on PostgreSQL a TRUNCATE of even a few small tables
    cost about 0.3 s per test (it replaces each table's files), a DELETE of their few rows next to nothing.
    """
    analysed = False
    with engine.begin() as connection:
        _probe, deletes = _reset_sql(connection.dialect.name, connection.dialect)
        for table in tables_with_rows(connection):
            connection.exec_driver_sql(deletes[table.name])
            if table.name == "unit":
                # Plain SQL bypasses the ORM event that empties it, and SQLite hands the unit ids out again.
                forget_unit_organisations()
        if (
            connection.dialect.name == "sqlite"
            and connection.exec_driver_sql("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'").first()
        ):
            # Statistics a test left (a bulk load analyses) would steer the next tests' query plans.
            analysed = connection.exec_driver_sql("DELETE FROM sqlite_stat1").rowcount > 0
    if analysed:
        # Each open connection keeps the statistics it read; new ones read the emptied table.
        engine.dispose()


_CASE_ROW_UPDATE = re.compile(r"\s*(WITH\b.*\)\s*)?UPDATE sipcase SET\b", re.IGNORECASE | re.DOTALL)


def updates_case_row(statement: str) -> bool:
    """True for an UPDATE of sipcase (on PostgreSQL a claim carries the Mina SIP rows' UPDATE in a WITH)."""
    return _CASE_ROW_UPDATE.match(statement) is not None


def row_reads(seen: list[str], table: str) -> list[str]:
    """The statements among seen that read whole rows of table (SELECT table.id, ...), quoted or not."""
    start = f"SELECT {table}.id"
    return [s for s in seen if " ".join(s.replace('"', "").split()).startswith(start)]


def deadline_reads(seen: list[str]) -> list[str]:
    """The SELECTs among seen that read a case's deadlines: alone, or with its reminder rows in one."""
    return [
        s
        for s in seen
        if s.lstrip().upper().startswith("SELECT")
        and " FROM deadline " in " ".join(s.replace('"', "").split())
    ]


@contextmanager
def statements(target, keep=lambda statement: True) -> Iterator[list[str]]:
    """The SQL statements target (an engine or a connection) sends inside the block, those keep keeps."""
    seen: list[str] = []

    def record(_conn, _cursor, statement, _parameters, _context, _executemany) -> None:
        if keep(statement):
            seen.append(statement)

    event.listen(target, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(target, "before_cursor_execute", record)


# --- Worlds built once and put back from a copy ----------------------------------------------------------

T = TypeVar("T")
# Per (database URL, key): what the build returned, the rows it added, and every row the database then held.
_WORLD_COPIES: dict[tuple, tuple[object, dict[str, list[dict]], dict[str, list[dict]]]] = {}
# Per engine: the key of the copy last put in place and the engine's write count just after.
_PLACED: dict[int, tuple[tuple, int]] = {}
_WRITES: dict[int, int] = {}


# A data-modifying WITH writes too (PostgreSQL's folds: a new person's registration may be a request's only
# write): a WITH with an INSERT, UPDATE or DELETE in it.
_WRITING_WITH = re.compile(r"\b(INSERT INTO|UPDATE|DELETE FROM)\b")


def is_write(statement: str) -> bool:
    """True for a statement that writes: an INSERT, UPDATE or DELETE, or a WITH holding one."""
    head = statement.lstrip()[:6].upper()
    if head in ("INSERT", "UPDATE", "DELETE"):
        return True
    return head[:4] == "WITH" and _WRITING_WITH.search(statement) is not None


def _count_write(connection, _cursor, statement, _parameters, _context, _executemany) -> None:
    if is_write(statement):
        _WRITES[id(connection.engine)] += 1


def writes(engine: Engine) -> int:
    """How many writing statements the engine has sent since it was first asked (it counts from then on)."""
    if id(engine) not in _WRITES:
        _WRITES[id(engine)] = 0
        event.listen(engine, "before_cursor_execute", _count_write)
    return _WRITES[id(engine)]


def rows_of(engine: Engine) -> dict[str, list[dict]]:
    """Every row of the emptied tables (the reference data aside), by table name, in key order."""
    with engine.connect() as connection:
        return {
            table.name: [dict(row._mapping) for row in rows]
            for table in EMPTIED_TABLES
            if (rows := connection.execute(select(table).order_by(*table.primary_key.columns)).all())
        }


def insert_rows(engine: Engine, rows: dict[str, list[dict]]) -> None:
    """Insert a copy rows_of made, ids and all, parents before children (into tables empty of them)."""
    with engine.begin() as connection:
        for table in reversed(EMPTIED_TABLES):
            if rows.get(table.name):
                connection.execute(table.insert(), rows[table.name])
    # The services cache each unit's organisation per process and forget it when the ORM writes a unit;
    # these INSERTs bypass the ORM, and SQLite hands a unit id out again after the tables were emptied.
    forget_unit_organisations()


def _added(before: dict[str, list[dict]], after: dict[str, list[dict]]) -> dict[str, list[dict]] | None:
    """The rows after holds that before did not; None when a row of before changed or went."""
    added = {}
    for name, rows in after.items():
        kept = before.get(name, [])
        if any(row not in rows for row in kept):
            return None
        if new := [row for row in rows if row not in kept]:
            added[name] = new
    if any(name not in after for name in before):
        return None
    return added


def _put(engine: Engine, key: tuple, value: T, added: dict, every: dict | None) -> T:
    if every is not None:
        _WORLD_COPIES[key] = (value, added, every)
    _PLACED[id(engine)] = (key, writes(engine))
    return value


def reused_world(engine: Engine, key: object, build: Callable[[], T]) -> T:
    """What build() returns (plain values such as ids, not ORM objects): it runs once per key and worker.

    The first call builds through the services on the empty database every test starts with and copies the
    rows it made; every later call inserts that copy again, the same ids and all, which costs a few INSERTs
    instead of a world's worth of service calls. The rows are emptied after the test as any test's are.
    On a database that already holds rows (the test wrote some first) it just builds.
    """
    with engine.connect() as connection:
        if tables_with_rows(connection):
            # The test wrote rows already: a copy's ids could meet them, and a first copy would hold them.
            return build()
    full_key = (engine.url.render_as_string(), key)
    found = _WORLD_COPIES.get(full_key)
    if found is not None:
        insert_rows(engine, found[1])
        return _put(engine, full_key, found[0], found[1], None)
    value = build()
    every = rows_of(engine)
    return _put(engine, full_key, value, every, every)


def reused_layer(engine: Engine, key: object, build: Callable[[], T]) -> T:
    """reused_world for what a test builds on top of a reused world it has written nothing beside.

    When the database holds exactly the world reused_world (or this) last put in place, the rows build()
    adds are copied once and inserted again on later calls; otherwise (or when build changed a row of the
    world beneath) it just builds.
    """
    placed = _PLACED.get(id(engine))
    if placed is None or placed[1] != writes(engine):
        return build()
    full_key = (*placed[0], key)
    found = _WORLD_COPIES.get(full_key)
    if found is not None:
        insert_rows(engine, found[1])
        return _put(engine, full_key, found[0], found[1], None)
    value = build()
    every = rows_of(engine)
    added = _added(_WORLD_COPIES[placed[0]][2], every)
    return _put(engine, full_key, value, added, every) if added is not None else value


def query_plan(session: Session, statement) -> str:
    """The database's plan for statement, one line per step. On PostgreSQL sequential scans are switched
    off for it: a plan that still has one has no index to use instead."""
    connection = session.connection()
    sql = str(statement.compile(connection, compile_kwargs={"literal_binds": True}))
    if connection.dialect.name == "sqlite":
        return "\n".join(row[-1] for row in connection.exec_driver_sql("EXPLAIN QUERY PLAN " + sql).all())
    connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
    return "\n".join(row[0] for row in connection.exec_driver_sql("EXPLAIN " + sql).all())


@contextmanager
def sqlite_statistics(connection, rows) -> Iterator[None]:
    """SQLite's planner takes rows, (table, index or None, sqlite_stat1's stat), for those indexes' statistics
    (a million cases' own, say) while the block runs; the database is analysed again after, for the next
    test."""
    connection.exec_driver_sql("ANALYZE")
    for table, index, stat in rows:
        connection.exec_driver_sql("DELETE FROM sqlite_stat1 WHERE tbl = ? AND idx IS ?", (table, index))
        connection.exec_driver_sql("INSERT INTO sqlite_stat1 VALUES (?, ?, ?)", (table, index, stat))
    connection.exec_driver_sql("ANALYZE sqlite_schema")  # the planner reads the statistics again
    try:
        yield
    finally:
        connection.exec_driver_sql("ANALYZE")


def move_user(session: Session, registry, admin: User, user: User, unit_id: int, now: datetime):
    """An administrator moves user to the unit unit_id through their page's service, all else kept."""
    from sipflow.admin import users as admin_users

    with unit_of_work(session):
        return admin_users.update_user(
            session, admin, user, display_name=user.display_name, email=user.email, unit_id=unit_id,
            roles=user.roles, coordinator_scope="", now=now, registry=registry,
        )  # fmt: skip


def national_namesake_of_the_outsider(session: Session, parties, make_unit) -> Unit:
    """Two Försäkringskassan: the parties' outsider made Kronoberg's own (county 07), and the national
    organisation of the same name with its Kalmar office, which is returned."""
    session.get(Organisation, parties.outsider.organisation_id).county_code = "07"
    session.commit()
    return make_unit("other", "Försäkringskassan", unit_name="Försäkringskassan Kalmar", county_code=None)


def deactivate_with_organisation(session: Session, unit: Unit) -> None:
    """Deactivate unit's organisation and the unit, as the administration does (the name is then free)."""
    with unit_of_work(session):
        session.get(Organisation, unit.organisation_id).active = False
        session.get(Unit, unit.id).active = False


def option_labels(html: str, name: str) -> list[str]:
    """The labels of the options of the page's first select named name, in page order."""
    rest = html[html.index(f'name="{name}"') :]
    return re.findall(r"<option[^>]*>([^<]+)</option>", rest[: rest.index("</select>")])


def waiting_on_a_lock(engine: Engine) -> bool:
    """Whether another backend of this database waits for a lock (PostgreSQL): a concurrency test's other
    session has reached the row it must wait for."""
    with engine.connect() as connection:
        return bool(
            connection.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
            ).scalar_one()
        )
