"""Att göra reads through indexes: a section's plan that scans a whole table fails here.

As in tests/cases/test_query_plans.py: a small database after ANALYZE; on PostgreSQL sequential scans and
sorts are switched off for the EXPLAIN, so a plan that still has one has no index to use instead.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from sipflow.cases.models import Deadline
from sipflow.meetings.models import CANCELLED, HELD, Meeting
from sipflow.plans.models import Plan, PlanEffort
from sipflow.todo.queries import Cursor, deadlines_query, efforts_query, invitations_query, meetings_query

pytestmark = pytest.mark.usefixtures("frozen_clock")
TABLES = ("deadline", "sipcase", "case_visibility", "meeting", "invitation", "planeffort", "plan", "person")


@pytest.fixture
def analysed(create_case, engine, db_session, parties, now):
    """A few cases with deadlines, meetings and efforts, and fresh planner statistics.

    As in any database that has run a while, most deadlines are met: the open ones are few.
    """
    cases = [create_case() for _ in range(6)]
    for number, case in enumerate(cases):
        for days in range(1, 6):
            due = now - timedelta(days=30 * days)
            db_session.add(Deadline(case_id=case.id, kind="kallelse", due_at=due, met_at=due))
            # Most meetings are held: their outcome was recorded.
            held = now - timedelta(days=30 * days, hours=number)
            db_session.add(
                Meeting(
                    case_id=case.id, mode="video", status=HELD, starts_at=held, ends_at=held, held_at=held
                )
            )
        starts_at = now + timedelta(days=3, hours=number)
        meeting = Meeting(
            case_id=case.id,
            mode="on_site",
            starts_at=starts_at,
            ends_at=starts_at + timedelta(hours=1),
            booked_by_user_id=parties.region_user.id,
        )
        plan = Plan(case_id=case.id)
        # Called, as many SIPs in a county are at any time, each with its meeting booked; one of them had
        # its meeting called off, so the meetings area flagged it as without one.
        case.state = "invited"
        if number == 0:
            meeting.status, case.unbooked_since = CANCELLED, now - timedelta(days=2)
        db_session.add_all([meeting, plan, case])
        db_session.flush()
        db_session.add(
            PlanEffort(
                plan_id=plan.id,
                what="Hemtjänst",
                organisation_id=parties.region.organisation_id,
                ends_on=now.date() - timedelta(days=1),
            )
        )
    db_session.commit()
    with engine.connect() as connection:
        connection.exec_driver_sql("ANALYZE")
        connection.commit()
    return cases


def plan_of(db_session, statement) -> str:
    connection = db_session.connection()
    sql = str(statement.compile(connection, compile_kwargs={"literal_binds": True}))
    if connection.dialect.name == "sqlite":
        rows = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + sql).all()
        return "\n".join(row[-1] for row in rows)
    connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
    connection.exec_driver_sql("SET LOCAL enable_sort = off")
    rows = connection.exec_driver_sql("EXPLAIN " + sql).all()
    return "\n".join(row[0] for row in rows)


def full_scans(plan: str) -> list[str]:
    """Steps that read a whole table or sort (SQLite's temporary B-tree); a walk in index order has none."""
    return [line.strip() for line in plan.splitlines() if "USE TEMP B-TREE" in line] + table_scans(plan)


def table_scans(plan: str) -> list[str]:
    """Steps that read a whole table."""
    found = []
    for line in plan.splitlines():
        step = line.strip()
        for table in TABLES:
            if step == f"SCAN {table}" or f"Seq Scan on {table}" in step:
                found.append(step)
    return found


def cursors(now):
    return [None, Cursor(now, 1)]


@pytest.mark.parametrize("follow_ups", [False, True])
@pytest.mark.parametrize("paged", [False, True])
def test_the_deadline_sections_read_through_indexes(
    analysed, db_session, registry, parties, now, follow_ups, paged
):
    organisation_id = parties.region.organisation_id
    after = Cursor(now, 1) if paged else None
    query = deadlines_query(
        parties.region_user, organisation_id, registry, now=now, follow_ups=follow_ups, limit=11, after=after
    )
    plan = plan_of(db_session, query)
    # Two plans are fine, by the statistics: the open deadlines in due order (the partial index), or the
    # organisation's candidates and each one's deadlines, sorted: both read only what they keep.
    assert table_scans(plan) == [], plan
    if db_session.get_bind().dialect.name == "sqlite":
        assert "ix_deadline_open_due_at" in plan or "ix_deadline_case_id" in plan, plan


@pytest.mark.parametrize("paged", [False, True])
def test_the_invitations_section_reads_the_users_meetings_by_index(
    analysed, db_session, registry, parties, now, paged
):
    after = Cursor(now, 1) if paged else None
    plan = plan_of(
        db_session, invitations_query(parties.region_user, registry, now=now, limit=11, after=after)
    )
    assert full_scans(plan) == [], plan
    if db_session.get_bind().dialect.name == "sqlite":
        assert "ix_meeting_booked_by_user_id_starts_at" in plan, plan


@pytest.mark.parametrize("paged", [False, True])
def test_the_efforts_section_reads_the_organisations_efforts_by_index(
    analysed, db_session, registry, parties, now, paged
):
    after = Cursor(now.date(), 1) if paged else None
    query = efforts_query(
        parties.region_user, parties.region.organisation_id, registry, now=now, limit=11, after=after
    )
    plan = plan_of(db_session, query)
    assert full_scans(plan) == [], plan
    if db_session.get_bind().dialect.name == "sqlite":
        assert "ix_planeffort_organisation_id_ends_on" in plan, plan


@pytest.mark.parametrize("paged", [False, True])
def test_the_meetings_section_walks_the_flagged_cases_and_the_begun_meetings_by_index(
    analysed, db_session, registry, parties, now, paged
):
    # A page of it starts at a time past: a begun meeting's start, or a case's last change.
    after = Cursor(now - timedelta(days=1), 1) if paged else None
    query = meetings_query(
        parties.region_user, parties.region.organisation_id, registry, now=now, limit=11, after=after
    )
    plan = plan_of(db_session, query)
    # Each walk reads its index in order and stops at the page: the cases flagged as without a meeting
    # (a partial index over the few), the planned meetings by start. Only the merged page, twice limit rows
    # at most, may be sorted (SQLite does; PostgreSQL merges the two walks in order).
    assert table_scans(plan) == [], plan
    assert "ix_meeting_status_starts_at_case_id" in plan, plan
    assert "ix_sipcase_state_unbooked_since_id" in plan, plan
    if db_session.get_bind().dialect.name == "sqlite":
        assert full_scans(plan) == ["USE TEMP B-TREE FOR ORDER BY"], plan
        assert plan.rstrip().endswith("USE TEMP B-TREE FOR ORDER BY"), plan
    else:
        assert "Merge Append" in plan, plan
