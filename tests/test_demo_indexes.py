"""The synthetic load's indexes and foreign keys (built after a load that fills the database, kept by a small
one, kept when another session holds the tables) and its garbage collector (off during the load, as it was
after it)."""

from __future__ import annotations

import gc
import logging

import pytest
from sqlalchemy import event, inspect, text

import sipflow.demo.bulkload as bulkload
import sipflow.demo.synthetic as synthetic
from sipflow.demo import load_synthetic_cases
from sipflow.demo.bulkload import Rows


def loaded_indexes(engine) -> dict[str, set[tuple]]:
    """Per loaded table: each index's name, columns and uniqueness, as the database reports them."""
    inspector = inspect(engine)
    return {
        model.__tablename__: {
            (index["name"], tuple(index["column_names"]), bool(index["unique"]))
            for index in inspector.get_indexes(model.__tablename__)
        }
        for model in Rows.ORDER
    }


def loaded_foreign_keys(engine) -> dict[str, set[tuple]]:
    """Per loaded table: each foreign key's name, columns, referred table and columns and ON DELETE."""
    inspector = inspect(engine)
    return {
        model.__tablename__: {
            (
                key["name"],
                tuple(key["constrained_columns"]),
                key["referred_table"],
                tuple(key["referred_columns"]),
                key["options"].get("ondelete"),
            )
            for key in inspector.get_foreign_keys(model.__tablename__)
        }
        for model in Rows.ORDER
    }


def model_indexes() -> dict[str, set[str]]:
    return {model.__tablename__: {i.name for i in model.__table__.indexes} for model in Rows.ORDER}


def statements_during(engine, action) -> list[str]:
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        action()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return seen


def test_a_load_into_an_empty_database_leaves_every_index_it_had(app_ctx, db_session, engine):
    before, keys_before = loaded_indexes(engine), loaded_foreign_keys(engine)
    assert all(model_indexes()[table] <= {name for name, _, _ in before[table]} for table in before)
    seen = statements_during(engine, lambda: load_synthetic_cases(60, seed=21))
    assert [s for s in seen if "DROP INDEX" in s.upper()]
    if engine.dialect.name == "postgresql":
        # PostgreSQL checks each row's foreign keys: the load adds them after it, checked once per table.
        assert [s for s in seen if "DROP CONSTRAINT" in s.upper()]
    assert loaded_indexes(engine) == before
    assert loaded_foreign_keys(engine) == keys_before
    # The rebuilt indexes hold every row: the planner reads a case's participants through one.
    count = db_session.exec(
        text("SELECT count(*) FROM participant WHERE case_id IN (SELECT id FROM sipcase)")
    ).one()[0]
    assert count >= 60 * 2


def test_a_small_load_into_a_larger_database_inserts_into_its_indexes(app_ctx, db_session, engine):
    load_synthetic_cases(40, seed=22)
    before = loaded_indexes(engine)
    seen = statements_during(engine, lambda: load_synthetic_cases(10, seed=22))
    assert not [s for s in seen if "DROP INDEX" in s.upper() or "DROP CONSTRAINT" in s.upper()]
    assert loaded_indexes(engine) == before


def test_a_failed_load_builds_the_indexes_again(app_ctx, db_session, engine, monkeypatch):
    before, keys_before = loaded_indexes(engine), loaded_foreign_keys(engine)

    def broken_write(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(synthetic, "write_batch", broken_write)
    with pytest.raises(RuntimeError, match="disk on fire"):
        load_synthetic_cases(30, seed=23)
    assert loaded_indexes(engine) == before
    assert loaded_foreign_keys(engine) == keys_before
    assert db_session.exec(text("SELECT count(*) FROM sipcase")).one()[0] == 0


def test_the_next_load_mends_indexes_a_killed_load_left_missing(app_ctx, db_session, engine):
    before, keys_before = loaded_indexes(engine), loaded_foreign_keys(engine)
    # What a load killed outright between dropping and rebuilding its indexes leaves behind.
    with engine.begin() as connection:
        connection.exec_driver_sql("DROP INDEX ix_participant_case_id_organisation_id")
        connection.exec_driver_sql("DROP INDEX ix_deadline_open_due_at")
        if engine.dialect.name == "postgresql":
            connection.exec_driver_sql(
                "ALTER TABLE participant DROP CONSTRAINT fk_participant_case_id_sipcase"
            )
    assert loaded_indexes(engine) != before
    load_synthetic_cases(5, seed=24)
    assert loaded_indexes(engine) == before
    assert loaded_foreign_keys(engine) == keys_before


def test_a_load_while_another_session_holds_the_tables_keeps_their_indexes(
    app_ctx, db_session, engine, monkeypatch, caplog
):
    """The load neither waits behind a reader's open transaction nor blocks it: it keeps what it'd drop."""
    before, keys_before = loaded_indexes(engine), loaded_foreign_keys(engine)
    monkeypatch.setattr(bulkload, "PG_DDL_LOCK_TIMEOUT", "200ms")
    with engine.connect() as reader:
        # An open transaction that has read a loaded table holds a lock on it until it ends.
        reader.execute(text("SELECT count(*) FROM participant")).scalar_one()
        with caplog.at_level(logging.INFO, logger="sipflow.demo.bulkload"):
            load_synthetic_cases(30, seed=26)
    assert db_session.exec(text("SELECT count(*) FROM sipcase")).one()[0] == 30
    assert loaded_indexes(engine) == before
    assert loaded_foreign_keys(engine) == keys_before
    if engine.dialect.name == "postgresql":
        assert "indexes and keys kept" in caplog.text


def test_the_load_leaves_the_garbage_collector_as_it_found_it(app_ctx, db_session):
    assert gc.isenabled()
    load_synthetic_cases(20, seed=25)
    assert gc.isenabled()
    assert gc.get_freeze_count() == 0
