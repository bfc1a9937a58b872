"""A transaction that wrote nothing ends in COMMIT on PostgreSQL, so psycopg keeps its prepared statements."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from sipflow.db import make_engine
from sipflow.people.models import Municipality


@pytest.fixture
def own_engine(app):
    """An engine of its own on the test database (its connection's prepared statements are the test's)."""
    engine = make_engine(app.config["DATABASE_URL"])
    yield engine
    engine.dispose()


def _read_in_a_session_of_its_own(engine) -> str:
    """One read, ended as a request's session ends it: by closing, which rolls back."""
    with engine.connect() as connection:
        return connection.execute(
            text("SELECT name FROM municipality WHERE code = :code"), {"code": "0780"}
        ).scalar_one()


@pytest.mark.db
def test_a_read_repeated_across_sessions_is_prepared_once_and_kept(own_engine):
    for _ in range(8):  # psycopg prepares a statement at its sixth run on a connection
        assert _read_in_a_session_of_its_own(own_engine) == "Växjö"

    # No connection event on the engine: with one, SQLAlchemy dispatches four at every statement.
    assert not own_engine.dispatch.rollback
    with own_engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            return  # sqlite3 keeps its statement cache across a rollback: the engine needs no such hook
        prepared = connection.execute(
            text("SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE '%FROM municipality%'")
        ).scalar_one()
    assert prepared == 1


@pytest.mark.db
@pytest.mark.parametrize("through", ["sqlalchemy", "driver"])
def test_a_transaction_that_wrote_is_still_rolled_back(own_engine, db_session, through):
    # The bulk loader writes through the driver's COPY, which SQLAlchemy never sees: the server decides.
    update = "UPDATE municipality SET name = 'Ändrad' WHERE code = '0780'"
    with own_engine.connect() as connection:
        if through == "sqlalchemy":
            connection.execute(text(update))
        else:
            cursor = connection.connection.driver_connection.cursor()
            cursor.execute(update)
            cursor.close()
        connection.rollback()

    assert db_session.get(Municipality, "0780").name == "Växjö"
