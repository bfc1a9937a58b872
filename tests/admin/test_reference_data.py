"""The migrations load every county and municipality of Sweden, keeping the rows a database already has."""

from __future__ import annotations

import csv

from alembic import command
from sqlalchemy import text

from sipflow.cli import alembic_config
from sipflow.db import make_engine
from sipflow.people.reference import DEFAULT_MUNICIPALITIES_CSV

BEFORE = "c9d1e3f5a7b9"


def _counts(engine) -> tuple[int, int]:
    with engine.connect() as connection:
        counties = connection.execute(text("SELECT count(*) FROM county")).scalar_one()
        municipalities = connection.execute(text("SELECT count(*) FROM municipality")).scalar_one()
    return counties, municipalities


def test_an_empty_database_gets_21_counties_and_290_municipalities(tmp_path):
    url = f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
    command.upgrade(alembic_config(url), "head")
    engine = make_engine(url)
    try:
        assert _counts(engine) == (21, 290)
        with engine.connect() as connection:
            row = connection.execute(
                text(
                    "SELECT m.name, c.region_name FROM municipality m "
                    "JOIN county c ON c.code = m.county_code "
                    "WHERE m.code = '2281'"
                )
            ).one()
        assert tuple(row) == ("Sundsvall", "Region Västernorrland")
    finally:
        engine.dispose()


def test_rows_already_there_are_kept_and_only_the_missing_ones_added(tmp_path):
    url = f"sqlite:///{tmp_path / 'seeded.sqlite3'}"
    command.upgrade(alembic_config(url), BEFORE)
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO county VALUES ('07', 'Kronobergs län', 'Region Kronoberg')"))
            connection.execute(text("INSERT INTO municipality VALUES ('0780', 'Växjö (lokalt namn)', '07')"))
        command.upgrade(alembic_config(url), "head")
        assert _counts(engine) == (21, 290)
        with engine.connect() as connection:
            name = connection.execute(text("SELECT name FROM municipality WHERE code = '0780'")).scalar_one()
        assert name == "Växjö (lokalt namn)"
    finally:
        engine.dispose()


def test_the_shipped_file_is_the_one_source_and_has_every_county():
    with DEFAULT_MUNICIPALITIES_CSV.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 290 and len({r["county_code"] for r in rows}) == 21
    assert all(r["municipality_code"].startswith(r["county_code"]) for r in rows)
    assert len({r["municipality_code"] for r in rows}) == 290


def test_the_test_database_holds_all_of_sweden(db_session):
    assert _counts(db_session.get_bind()) == (21, 290)
