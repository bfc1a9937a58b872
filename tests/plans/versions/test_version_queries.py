"""The version list and the one-version reads go through the (case_id, number) index, never a table scan."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from sipflow.cases.models import Participant
from sipflow.plans.models import PlanApproval, PlanVersion
from sipflow.plans.versions import (
    case_page_versions,
    case_page_versions_query,
    find_version_query,
    freeze_version,
    version_summaries,
    version_summaries_query,
)


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


def test_the_case_page_read_uses_the_indexes_of_versions_and_approvals(analysed, db_session):
    plan = plan_of(db_session, case_page_versions_query(analysed.id))
    steps = [line.strip() for line in plan.splitlines()]
    for table in ("planversion", "planapproval"):
        assert not any(step == f"SCAN {table}" or f"Seq Scan on {table}" in step for step in steps), plan
    assert "planapproval" in plan and ("INDEX" in plan or "Index" in plan), plan


def test_the_case_page_read_lists_every_version_and_the_newest_ones_approvals_only(
    analysed, db_session, parties, now
):
    case = analysed
    versions = db_session.exec(
        select(PlanVersion).where(PlanVersion.case_id == case.id).order_by(PlanVersion.number)
    ).all()
    participants = db_session.exec(
        select(Participant).where(Participant.case_id == case.id).order_by(Participant.id)
    ).all()
    older, newest = versions[-2], versions[-1]
    # An older version's approval is not the newest's; the newest's come in the order they were given.
    db_session.add(
        PlanApproval(
            version_id=older.id, participant_id=participants[0].id, method="digital", approved_at=now
        )
    )
    for minutes, participant in ((5, participants[1]), (1, participants[0])):
        db_session.add(
            PlanApproval(
                version_id=newest.id,
                participant_id=participant.id,
                method="digital",
                approved_at=now + timedelta(minutes=minutes),
            )
        )
    db_session.commit()

    listed, approvals = case_page_versions(db_session, case)

    assert listed == version_summaries(db_session, case)
    assert [v.number for v in listed] == [v.number for v in reversed(versions)]
    assert [a.participant_id for a in approvals] == [participants[0].id, participants[1].id]
