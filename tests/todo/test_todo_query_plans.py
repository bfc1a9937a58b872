"""Att göra reads through indexes: a section's plan that scans a whole table fails here.

As in tests/cases/test_query_plans.py: a small database after ANALYZE; on PostgreSQL sequential scans and
sorts are switched off for the EXPLAIN, so a plan that still has one has no index to use instead.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import support

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


# The statistics of a database of a million cases (sipflow demo --cases 1000000, bench/pages.py), where
# SQLite, averaging the three meeting statuses, takes "planned" for a third of all meetings: the begun
# meetings' walk then went by the organisation's candidate rows instead, 280 000 of them (300 ms).
MILLION_STATISTICS = (  # sqlite_stat1 of the tables the query reads
    ("case_visibility", "ix_case_visibility_case_id", "2493642 3"),
    (
        "case_visibility",
        "ix_case_visibility_organisation_id_state_updated_at_case_id",
        "2493642 38364 3488 1 1",
    ),
    ("case_visibility", "ix_case_visibility_organisation_id_updated_at_case_id", "2493642 38364 2 1"),
    ("case_visibility", "sqlite_autoindex_case_visibility_1", "2493642 38364 1"),
    ("consent", "ix_consent_case_id", "1107116 2"),
    ("consentorganisation", "ix_consentorganisation_organisation_id_consent_id", "2723290 41897 1"),
    ("consentorganisation", "sqlite_autoindex_consentorganisation_1", "2723290 3 1"),
    ("meeting", "ix_meeting_booked_by_user_id_starts_at", "2173046 724349 4"),
    ("meeting", "ix_meeting_case_id_status_starts_at", "2173046 3 3 1"),
    ("meeting", "ix_meeting_starts_at", "2173046 4"),
    ("meeting", "ix_meeting_status_starts_at_case_id", "2173046 724349 4 1"),
    ("meeting", "sqlite_autoindex_meeting_1", "2173046 1"),
    ("participant", "ix_participant_case_id", "4183541 5"),
    ("participant", "ix_participant_case_id_organisation_id", "4183541 5 2"),
    ("participant", "ix_participant_contact_user_id", "4183541 59765"),
    ("participant", "ix_participant_organisation_id", "4183541 63387"),
    ("person", "ix_person_home_municipality_code", "1000003 33334"),
    ("person", "sqlite_autoindex_person_1", "1000003 1"),
    ("sipcase", "ix_sipcase_initiating_organisation_id", "1000003 15874"),
    ("sipcase", "ix_sipcase_person_id", "1000003 1"),
    ("sipcase", "ix_sipcase_requested_at_cover", "1000003 2 1 1 1 1 1"),
    ("sipcase", "ix_sipcase_state", "1000003 90910"),
    ("sipcase", "ix_sipcase_updated_at_id", "1000003 2 1"),
    ("sipcase", "ix_sipcase_workflow_name_version", "1000003 333335 333335"),
    ("sipcase", "sqlite_autoindex_sipcase_1", "1000003 1"),
    ("sipcase", "sqlite_autoindex_sipcase_2", "1000003 1"),
    ("unit", "ix_unit_name_id", "77 5 1"),
    ("unit", "ix_unit_organisation_id", "77 2"),
    ("unit", "sqlite_autoindex_unit_1", "77 1"),
    ("unit", "sqlite_autoindex_unit_2", "77 77"),
)


def test_the_begun_meetings_walk_goes_by_the_meetings_at_a_million_cases_too(
    analysed, db_session, registry, parties, now
):
    connection = db_session.connection()
    query = meetings_query(
        parties.region_user, parties.region.organisation_id, registry, now=now, limit=11, after=None
    )
    if connection.dialect.name != "sqlite":
        # PostgreSQL's statistics hold each status's share (most common values): it goes by the meetings,
        # and asks each meeting its candidate row. Joined, at a million cases it expected thousands of begun
        # meetings where there were none and hashed the organisation's candidate rows with two workers
        # (8 ms, most of it starting them); asked per meeting, the walk stops at the page whatever the
        # estimate.
        plan = plan_of(db_session, query)
        walk = re.search(
            r"Index Scan using ix_meeting_status_starts_at_case_id on meeting .*\n.*Index Cond: .*\n"
            r"\s*Filter: \(\(SubPlan \d+\) IS NOT NULL\)",
            plan,
        )
        assert walk is not None, plan
        return
    with support.sqlite_statistics(connection, MILLION_STATISTICS):
        plan = plan_of(db_session, query)
    assert "ix_meeting_status_starts_at_case_id (status=? AND starts_at<?)" in plan, plan
    assert "sqlite_autoindex_case_visibility_1 (organisation_id=?)" not in plan, plan
