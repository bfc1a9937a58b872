"""The version list and the one-version reads go through the (case_id, number) index, never a table scan."""

from __future__ import annotations

import pytest

from sipflow.plans.versions import find_version_query, freeze_version, version_summaries_query


@pytest.fixture
def analysed(db_session, parties, established, engine, now):
    """Four versions of one case, and fresh planner statistics."""
    for _ in range(3):
        freeze_version(
            db_session, established.case, trigger="revise_plan", actor=parties.region_user, now=now
        )
    db_session.commit()
    with engine.connect() as connection:
        connection.exec_driver_sql("ANALYZE")
        connection.commit()
    return established.case


def plan_of(db_session, statement) -> str:
    """The database's plan for statement (sequential scans and sorts off on PostgreSQL, as for Mina SIP)."""
    connection = db_session.connection()
    sql = str(statement.compile(connection, compile_kwargs={"literal_binds": True}))
    if connection.dialect.name == "sqlite":
        return "\n".join(row[-1] for row in connection.exec_driver_sql("EXPLAIN QUERY PLAN " + sql).all())
    connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
    connection.exec_driver_sql("SET LOCAL enable_sort = off")
    return "\n".join(row[0] for row in connection.exec_driver_sql("EXPLAIN " + sql).all())


@pytest.mark.parametrize(
    "statement",
    [
        lambda case: version_summaries_query(case.id),
        lambda case: find_version_query(case.id),
        lambda case: find_version_query(case.id, 2),
    ],
    ids=["list", "newest", "one"],
)
def test_version_reads_use_an_index(analysed, db_session, statement):
    plan = plan_of(db_session, statement(analysed))
    steps = [line.strip() for line in plan.splitlines()]
    assert not any(step == "SCAN planversion" or "Seq Scan on planversion" in step for step in steps), plan
    assert "USE TEMP B-TREE" not in plan and "Sort" not in plan, plan
    assert "planversion" in plan and ("INDEX" in plan or "Index" in plan), plan
