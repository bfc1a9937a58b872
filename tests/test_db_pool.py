"""The pool's connections: one the database closed while it rested is replaced, not handed to a request."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from sipflow.db import make_engine


def close_behind_the_pool(engine) -> None:
    """Check a connection out and in again, then end it as a restarted server would (the pool keeps it)."""
    with engine.connect() as connection:
        dbapi_connection = connection.connection.dbapi_connection
        pid = connection.execute(text("SELECT pg_backend_pid()")).scalar() if _postgres(engine) else None
    if pid is None:
        dbapi_connection.close()  # SQLite: the file stays, the connection is gone
        return
    with make_engine(engine.url.render_as_string(hide_password=False)).connect() as other:
        assert other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar()


def _postgres(engine) -> bool:
    return engine.dialect.name == "postgresql"


@pytest.fixture
def pool_engine(app):
    """An engine of its own on the test database, so the suite's pool is left alone."""

    def make(**options):
        made = make_engine(app.config["DATABASE_URL"], **options)
        engines.append(made)
        return made

    engines = []
    yield make
    for made in engines:
        made.dispose()


@pytest.mark.db
def test_a_connection_closed_while_it_rested_is_replaced_on_checkout(pool_engine):
    engine = pool_engine(ping_after_idle=0)
    close_behind_the_pool(engine)

    with engine.connect() as connection:
        assert connection.execute(text("SELECT 1")).scalar() == 1


@pytest.mark.db
def test_a_connection_back_a_moment_ago_is_not_pinged_and_its_failure_renews_the_pool(pool_engine):
    # Within the window the connection is taken as alive (no round trip); should it have died meanwhile,
    # only that unit of work fails, and the next gets a new connection.
    engine = pool_engine(ping_after_idle=3600)
    close_behind_the_pool(engine)

    with pytest.raises(DBAPIError) as failed, engine.connect() as connection:
        connection.execute(text("SELECT 1"))
    assert failed.value.connection_invalidated
    with engine.connect() as connection:
        assert connection.execute(text("SELECT 1")).scalar() == 1
