"""Helpers for the tests of a migration's data backfill: a database at the revision before it, with rows."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from sqlalchemy import Connection, create_engine, text

from sipflow.cli import alembic_config

REGION_AND_MUNICIPALITY = (
    "INSERT INTO organisation (id, key, name, kind) VALUES (7, 'o7', 'Region Kronoberg', 'region'), "
    "(8, 'o8', 'Växjö kommun', 'municipality')"
)


def a_person(created_at: str = "2026-12-01") -> str:
    """The INSERT of person 1, registered on created_at."""
    return (
        "INSERT INTO person (id, id_kind, id_number, id_hash, given_name, family_name, legal_sex, "
        "home_municipality_code, created_at) "
        f"VALUES (1, 'pnr', 'x', 'h', 'A', 'B', 'F', '0780', '{created_at}')"
    )


def a_case(case_id: int, *, state: str, occasion: str, initiator: int, day: str = "2026-12-01") -> str:
    """The INSERT of SIP case_id of person 1, started by the organisation initiator on day."""
    return (
        "INSERT INTO sipcase (id, uid, reference, workflow_name, workflow_version, state, occasion, version, "
        "person_id, initiating_organisation_id, requested_at, created_at, updated_at, municipality_code) "
        f"VALUES ({case_id}, 'c{case_id}', 'SIP-{case_id}', 'sip', 1, '{state}', '{occasion}', 1, 1, "
        f"{initiator}, '{day}', '{day}', '{day}', '0780')"
    )


@contextmanager
def upgraded_from(folder: Path, before: str, rows: list[str]) -> Iterator[Connection]:
    """A SQLite database in folder at revision before holding rows, then upgraded to head: a connection."""
    url = f"sqlite:///{folder / 'backfill.sqlite3'}"
    command.upgrade(alembic_config(url), before)
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            for row in rows:
                connection.execute(text(row))
        command.upgrade(alembic_config(url), "head")
        with engine.connect() as connection:
            yield connection
    finally:
        engine.dispose()
