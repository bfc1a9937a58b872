"""Test helpers that are not fixtures: valid identifiers, firing a step, the log scan and emptying the
database (import as `support`)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

from sqlalchemy import exists, literal, select, union_all
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

import sipflow.models  # noqa: F401  (every table)
from sipflow.cases.scripted import fire_scripted, scripted_input
from sipflow.db import unit_of_work
from sipflow.people.identifiers import IdentifierError, luhn_check_digit, parse_identifier

FIXED_NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
# Reference tables survive between tests; everything else is emptied after each one.
KEPT_TABLES = frozenset({"county", "municipality", "alembic_version"})
# Children before parents, so deleting in this order never trips a foreign key.
EMPTIED_TABLES = [t for t in reversed(SQLModel.metadata.sorted_tables) if t.name not in KEPT_TABLES]
_IDENTIFIER_LIKE = re.compile(r"(?<!\d)(?:\d{2})?\d{6}[-+]?\d{4}(?!\d)")


def valid_personnummer(birth: date, serial: int = 238) -> str:
    """A valid 12-digit personnummer for birth and a three-digit serial."""
    nine = birth.strftime("%y%m%d") + f"{serial:03d}"
    return birth.strftime("%Y%m%d") + f"{serial:03d}" + str(luhn_check_digit(nine))


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


def tables_with_rows(connection) -> list:
    """The emptied tables that hold at least one row (children first), found in one query."""
    probes = [select(literal(t.name).label("name")).where(exists().select_from(t)) for t in EMPTIED_TABLES]
    found = set(connection.execute(union_all(*probes)).scalars())
    return [t for t in EMPTIED_TABLES if t.name in found]


def empty_tables(engine: Engine) -> None:
    """Delete every row but the reference data, touching only the tables that hold any (children first).

    Most tests write to a handful of tables: asking once which tables hold rows is far cheaper than a
    DELETE per table. DELETE rather than TRUNCATE: on PostgreSQL a TRUNCATE of even a few small tables
    cost about 0.3 s per test (it replaces each table's files), a DELETE of their few rows next to nothing.
    """
    with engine.begin() as connection:
        for table in tables_with_rows(connection):
            connection.execute(table.delete())
