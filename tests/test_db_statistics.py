"""The planner's statistics: refreshed by `db upgrade` and by the nightly job."""

from __future__ import annotations

from sqlalchemy import text

from sipflow.cli import db_upgrade
from sipflow.db import statistics_job


def has_statistics(engine) -> bool:
    """Whether the database holds planner statistics about sipcase."""
    with engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            if connection.exec_driver_sql("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'").first():
                return bool(connection.exec_driver_sql("SELECT count(*) FROM sqlite_stat1").scalar())
            return False
        return bool(
            connection.execute(
                text(
                    "SELECT last_analyze IS NOT NULL OR last_autoanalyze IS NOT NULL "
                    "FROM pg_stat_user_tables WHERE relname = 'sipcase'"
                )
            ).scalar()
        )


def forget_statistics(engine) -> None:
    """SQLite: drop what ANALYZE wrote (PostgreSQL keeps its own; the check there is last_analyze)."""
    with engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            if connection.exec_driver_sql("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'").first():
                connection.exec_driver_sql("DELETE FROM sqlite_stat1")
                connection.commit()


def test_the_statistics_job_analyses_the_database(app, engine):
    forget_statistics(engine)
    statistics_job(app)
    assert has_statistics(engine)
    statistics_job(app)  # again, once statistics exist: PRAGMA optimize on SQLite
    assert has_statistics(engine)


def test_db_upgrade_leaves_the_database_analysed(app, engine):
    forget_statistics(engine)
    result = app.test_cli_runner().invoke(db_upgrade)
    assert result.exit_code == 0, result.output
    assert has_statistics(engine)


def test_db_upgrade_analyses_a_table_a_migration_rebuilt(app, engine, create_case):
    """Alembic's batch mode rebuilds a table on SQLite and drops its statistics; the rest keep theirs."""
    create_case()
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as connection:
        connection.exec_driver_sql("ANALYZE")
        if sqlite:  # as a rebuild leaves it (PostgreSQL keeps a table's statistics through ALTER TABLE)
            connection.exec_driver_sql("DELETE FROM sqlite_stat1 WHERE tbl = 'sipcase'")
        connection.commit()
    engine.dispose()
    result = app.test_cli_runner().invoke(db_upgrade)
    assert result.exit_code == 0, result.output
    if sqlite:
        with engine.connect() as connection:
            indexes = connection.exec_driver_sql(
                "SELECT idx FROM sqlite_stat1 WHERE tbl = 'sipcase'"
            ).scalars()
            assert "ix_sipcase_updated_at_id" in set(indexes)
    assert has_statistics(engine)
