"""The access rule and Mina SIP read through indexes: a plan that scans a whole table fails here.

The plans are read on a small database after ANALYZE (which `db upgrade`, the bulk loader and the nightly
job run: sipflow.db.refresh_statistics). On PostgreSQL sequential scans and sorts are switched off for the
EXPLAIN, since on a table of a few rows they are cheapest anyway: a plan that still has one has no index
to use instead.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import insert, text
from sqlmodel import select

from sipflow.admin.queries import users_page_query
from sipflow.admin.regions import Region, person_in_region_query, region_filter
from sipflow.cases.models import Participant, SipCase
from sipflow.cases.queries import CaseFilter, Cursor, visible_page_query
from sipflow.meetings.jobs import _CASES_WITH_UNCOVERED
from sipflow.meetings.models import Invitation, Meeting
from sipflow.people.models import User
from sipflow.security import access
from sipflow.security.audit import AccessLogEntry, concerns_person

pytestmark = pytest.mark.usefixtures("frozen_clock")


@pytest.fixture
def analysed(create_case, engine):
    """A few cases and fresh planner statistics (a full ANALYZE, whatever an earlier test left)."""
    cases = [create_case() for _ in range(6)]
    with engine.connect() as connection:
        connection.exec_driver_sql("ANALYZE")
        connection.commit()
    # A pooled SQLite connection an earlier test left open keeps the statistics it read (none): the plans
    # are read on fresh connections.
    engine.dispose()
    return cases


def plan_of(db_session, statement) -> str:
    """The database's plan for statement, one line per step."""
    connection = db_session.connection()
    sql = str(statement.compile(connection, compile_kwargs={"literal_binds": True}))
    if connection.dialect.name == "sqlite":
        rows = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + sql).all()
        return "\n".join(row[-1] for row in rows)
    connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
    connection.exec_driver_sql("SET LOCAL enable_sort = off")
    rows = connection.exec_driver_sql("EXPLAIN " + sql).all()
    return "\n".join(row[0] for row in rows)


def full_scans(plan: str, *tables: str) -> list[str]:
    """The plan's steps that read all of one of tables (an ordered walk of an index is not one)."""
    found = []
    for line in plan.splitlines():
        step = line.strip()
        for table in tables:
            if step == f"SCAN {table}" or f"Seq Scan on {table}" in step:
                found.append(step)
    return found


def test_the_access_rule_for_one_case_searches_participants_by_case_and_organisation(
    analysed, db_session, parties, now
):
    case = analysed[0]
    plan = plan_of(
        db_session,
        select(SipCase).where(
            SipCase.uid == case.uid, access.visible_cases_clause(parties.municipality_user, now=now)
        ),
    )
    assert full_scans(plan, "sipcase", "participant", "consent", "consentorganisation") == [], plan
    if db_session.get_bind().dialect.name == "sqlite":
        # PostgreSQL hashes this EXISTS on a table of a few rows (through the organisation index).
        assert "ix_participant_case_id_organisation_id" in plan, plan


def _all_but_the_newest_invited(engine, analysed) -> Cursor:
    """Every case but the newest moved to `invited`, statistics taken again; a cursor at the newest.

    Most cases in another state, so that the state is what makes one index better than the other (with
    every case in the one state PostgreSQL may as well filter the older index's rows).
    """
    with engine.begin() as connection:
        others = [case.id for case in analysed[1:]]
        for table in ("sipcase", "case_visibility"):
            key = "id" if table == "sipcase" else "case_id"
            connection.execute(
                text(f"UPDATE {table} SET state = 'invited' WHERE {key} IN ({','.join(map(str, others))})")
            )
        connection.exec_driver_sql("ANALYZE")
    engine.dispose()  # as in analysed: the plans read the new statistics
    last = analysed[0]
    return Cursor(2, last.updated_at, last.id)


@pytest.mark.parametrize("page", ["first", "after", "before"])
def test_a_mina_sip_page_walks_its_organisations_candidates_without_sorting(
    analysed, db_session, parties, now, page, engine
):
    cursor = _all_but_the_newest_invited(engine, analysed)
    plan = plan_of(
        db_session,
        visible_page_query(
            parties.region_user,
            now=now,
            limit=51,
            after=cursor if page == "after" else None,
            before=cursor if page == "before" else None,
        ),
    )
    tables = ("case_visibility", "sipcase", "participant", "consent", "consentorganisation", "person")
    assert full_scans(plan, *tables) == [], plan
    # The user's organisation's candidates, in (updated_at, case_id) order from the cursor: an organisation
    # that sees few cases reads few rows, and a deep page starts at its key.
    assert "ix_case_visibility_organisation_id_updated_at_case_id" in plan, plan
    # No sort of the visible cases: the page is read in index order and stops after its rows.
    assert "TEMP B-TREE" not in plan and "Sort" not in plan, plan


@pytest.mark.parametrize(
    "filters",
    [
        CaseFilter(state="consent_given"),
        CaseFilter(deadline="overdue"),
        CaseFilter(deadline="week"),
        CaseFilter(person_id=1),
        CaseFilter(state="requested", deadline="week", person_id=1),
        CaseFilter(occasion="other_need"),
        CaseFilter(occasion="discharge", deadline="overdue"),
    ],
    ids=["state", "overdue", "week", "person", "all", "kind", "kind-overdue"],
)
def test_a_filtered_mina_sip_page_keeps_the_keyset_walk(analysed, db_session, parties, now, filters):
    last = analysed[2]
    plan = plan_of(
        db_session,
        visible_page_query(
            parties.region_user, now=now, limit=51, after=Cursor(2, last.updated_at, last.id), filters=filters
        ),
    )
    tables = (
        "case_visibility",
        "sipcase",
        "participant",
        "consent",
        "consentorganisation",
        "person",
        "deadline",
    )
    assert full_scans(plan, *tables) == [], plan
    if filters.person_id is not None:
        # With a large database's statistics the planner starts from the person's few cases
        # (ix_sipcase_person_id) and sorts those: a bounded sort, so either plan is right.
        return
    assert "TEMP B-TREE" not in plan and "Sort" not in plan, plan
    if filters.state:
        # A range of the organisation's candidates in that state: the walk reads no case of another state.
        assert "ix_case_visibility_organisation_id_state_updated_at_case_id" in plan, plan
    elif filters.occasion and db_session.get_bind().dialect.name == "sqlite":
        # A range of the organisation's candidates of that kind: a rare kind reads no other kind's case.
        assert "ix_case_visibility_organisation_id_occasion_updated_at_case_id" in plan, plan
        assert "organisation_id=? AND occasion=?" in plan, plan
    elif db_session.get_bind().dialect.name == "sqlite":
        assert "ix_case_visibility_organisation_id_updated_at_case_id" in plan, plan


@pytest.mark.parametrize("page", ["first", "after", "before"])
def test_mina_sip_filtered_by_state_reads_only_that_states_candidates(
    analysed, db_session, parties, now, page, engine
):
    cursor = _all_but_the_newest_invited(engine, analysed)
    plan = plan_of(
        db_session,
        visible_page_query(
            parties.region_user,
            now=now,
            limit=51,
            after=cursor if page == "after" else None,
            before=cursor if page == "before" else None,
            filters=CaseFilter(state="requested"),
        ),
    )
    assert full_scans(plan, "case_visibility", "sipcase", "participant", "consent", "person") == [], plan
    assert "TEMP B-TREE" not in plan and "Sort" not in plan, plan
    if db_session.get_bind().dialect.name == "sqlite":
        # The organisation and the state are the index's equality prefix, the cursor its range. (On six
        # cases PostgreSQL's costs for this index and the older one tie, and it may take either.)
        assert "ix_case_visibility_organisation_id_state_updated_at_case_id" in plan, plan
        assert "organisation_id=? AND state=?" in plan, plan


@pytest.mark.parametrize("by", ["quarter", "municipality", "county,age_band"])
def test_the_statistics_read_offered_sips_and_their_accepting_steps_from_indexes(
    analysed, db_session, app, by
):
    """At a million cases this query fetched every case row of the year and probed the log row by row; the
    municipality the case kept from its request (filtered and grouped by) is in the covering index too."""
    from datetime import date

    from sipflow.stats.services import case_outcome_queries, parse_query, settings_from

    settings = settings_from(app.config, app.extensions["sipflow.workflows"])
    query = parse_query(db_session, start=date(2026, 1, 1), end=date(2026, 12, 31), county="07", by=by)
    offered, _due, _keys = case_outcome_queries(query, settings)
    plan = plan_of(db_session, offered)
    assert "ix_transitionlog_case_id_trigger" in plan, plan
    if db_session.connection().dialect.name == "sqlite":
        # PostgreSQL starts from the six persons here (and from the request date at scale).
        assert "COVERING INDEX ix_sipcase_requested_at_cover" in plan, plan
    assert not full_scans(plan, "sipcase", "transitionlog"), plan


def test_the_statistics_read_attendance_of_the_sip_meetings_through_indexes(analysed, db_session, app):
    """The attendance table starts from the period's SIP meetings (the code records' covering index) and
    finds their attendance, participants and organisations by key, compared years and a SIP code too."""
    from datetime import date

    from sipflow.stats.services import attendance_query, parse_query, settings_from

    settings = settings_from(app.config, app.extensions["sipflow.workflows"])
    query = parse_query(
        db_session, start=date(2026, 1, 1), end=date(2026, 6, 30), county="07", compare_years=2, code="XU045"
    )
    statement, _names = attendance_query(query, settings)
    plan = plan_of(db_session, statement)
    assert not full_scans(plan, "attendance", "participant", "organisation", "meeting", "code_record"), plan


@pytest.mark.parametrize(
    ("name", "tables"),
    [
        ("consents", ("consent", "consentorganisation", "organisation")),
        ("meetings", ("meeting", "attendance")),
        ("participants", ("participant", "consent")),
        ("reminders", ("reminder", "user", "unit", "invitation", "invitee", "organisation", "invitee_unit")),
    ],
)
def test_the_case_pages_and_the_steps_joined_reads_search_by_case(analysed, db_session, name, tables):
    """The reads that join a second table to the case's rows (the consents' organisations, the meetings'
    attendance, the step's participants with the consents in force, the reminders with their recipients and
    invitees) find both through indexes."""
    from sipflow.cases.queries import _CONSENTS
    from sipflow.cases.services import _ACTIVE_PARTICIPANTS
    from sipflow.meetings.queries import _MEETINGS_OF_CASE
    from sipflow.reminders.services import _CASE_REMINDERS

    statement = {
        "consents": _CONSENTS,
        "meetings": _MEETINGS_OF_CASE,
        "participants": _ACTIVE_PARTICIPANTS,
        "reminders": _CASE_REMINDERS,
    }[name]
    bound = statement.params(case_id=analysed[0].id, today=date(2026, 11, 2))
    plan = plan_of(db_session, bound)
    assert full_scans(plan, *tables) == [], plan


def test_the_code_correction_page_reads_one_meetings_records_and_attendance_by_index(analysed, db_session):
    """The correction page's reads (a meeting's code records, its health-care units' attendance) seek by
    the meeting, however many meetings and records there are."""
    from sipflow.coding.models import CodeRecord
    from sipflow.coding.queries import _CARE_PARTICIPANTS, _CASE_RECORDS, _MEETING_ATTENDANCE

    records = plan_of(
        db_session, select(CodeRecord).where(CodeRecord.meeting_id == 1).order_by(CodeRecord.id)
    )
    assert full_scans(records, "code_record") == [], records
    attendance = plan_of(db_session, _MEETING_ATTENDANCE.params(meeting_id=1))
    assert full_scans(attendance, "attendance") == [], attendance
    units = plan_of(
        db_session,
        _CARE_PARTICIPANTS.params(
            case_id=analysed[0].id, participant_ids=[1, 2], held_at=datetime(2026, 11, 2, tzinfo=UTC)
        ),
    )
    assert full_scans(units, "participant", "unit") == [], units
    # The case page's held meetings with their records: by the case, then by each meeting.
    held = plan_of(db_session, _CASE_RECORDS.params(case_id=analysed[0].id))
    assert full_scans(held, "meeting", "code_record", "unit") == [], held


def test_the_consent_coverage_job_starts_from_the_planned_meetings_ahead(analysed, db_session, engine, now):
    """The nightly job finds the invitations a consent no longer covers among the meetings ahead, not by
    reading every invitation ever sent: most meetings are held, each with its invitations."""
    for number, case in enumerate(analysed):
        status, at = (
            ("planned", now + timedelta(days=7)) if number == 0 else ("held", now - timedelta(days=7))
        )
        meeting = Meeting(
            case_id=case.id, status=status, mode="video", starts_at=at, ends_at=at + timedelta(hours=1)
        )
        db_session.add(meeting)
        db_session.flush()
        participants = db_session.exec(select(Participant.id).where(Participant.case_id == case.id)).all()
        db_session.add_all(
            Invitation(meeting_id=meeting.id, participant_id=p, invited_at=now) for p in participants
        )
    db_session.commit()
    with engine.connect() as connection:
        connection.exec_driver_sql("ANALYZE")
        connection.commit()
    engine.dispose()  # as in analysed: the plan reads the new statistics
    statement = _CASES_WITH_UNCOVERED.params(now=now, today=now.date())
    plan = plan_of(db_session, statement)
    tables = ("meeting", "invitation", "participant", "consent", "consentorganisation", "sipcase")
    assert full_scans(plan, *tables) == [], plan
    if db_session.get_bind().dialect.name == "sqlite":
        # PostgreSQL may walk either meeting index on a table of a few rows (on the synthetic million it
        # starts from this one, as bench/README.md records).
        assert "ix_meeting_status_starts_at_case_id" in plan, plan


def test_a_mails_recipients_seeing_the_case_are_found_by_address(analysed, db_session, engine, parties, now):
    # Every booking, change and reminder asks which recipients may get the case page's address. With a
    # handful of users any plan reads them all cheaply: a county's directory has thousands.
    db_session.execute(
        insert(User),
        [
            {
                "username": f"katalog{n}",
                "display_name": f"Katalog {n}",
                "email": f"Katalog{n}@example.se",
                "password_hash": "!",
                "unit_id": parties.region.id,
                "session_token": f"katalog-token-{n}",
            }
            for n in range(2000)
        ],
    )
    db_session.commit()
    with engine.connect() as connection:
        connection.exec_driver_sql("ANALYZE")
        connection.commit()
    engine.dispose()
    case = analysed[0]
    wanted = {parties.region_user.email.lower(), "extern@example.se"}
    plan = plan_of(db_session, access.addresses_seeing_case_query(case, wanted, now=now))
    assert full_scans(plan, "user") == [], plan
    assert "ix_user_email_lower" in plan, plan


@pytest.mark.parametrize("scope", ["county", "organisation"])
def test_whether_an_administrator_holds_a_person_reads_the_persons_sips_through_indexes(
    analysed, db_session, parties, scope
):
    region = (
        Region(national=False, county_code="07")
        if scope == "county"
        else Region(national=False, organisation_id=parties.outsider.organisation_id)
    )
    plan = plan_of(db_session, person_in_region_query(region, analysed[0].person_id))
    tables = ("sipcase", "participant", "organisation", "municipality", "person")
    assert full_scans(plan, *tables) == [], plan
    if db_session.get_bind().dialect.name == "sqlite":
        assert "ix_sipcase_person_id" in plan, plan


@pytest.mark.parametrize("search", ["katalog1", "Åsa", "ab_c%"])
@pytest.mark.parametrize("region", ["national", "county"])
def test_the_users_page_search_reads_names_usernames_and_addresses_through_indexes(
    analysed, db_session, engine, parties, search, region
):
    # A county's directory has thousands of users: the search must not read them all, in any scope.
    db_session.execute(
        insert(User),
        [
            {
                "username": f"katalog{n}",
                "display_name": f"Katalog {n}",
                "email": f"Katalog{n}@example.se",
                "password_hash": "!",
                "unit_id": parties.region.id,
                "session_token": f"katalog-token-{n}",
            }
            for n in range(2000)
        ],
    )
    db_session.commit()
    with engine.connect() as connection:
        connection.exec_driver_sql("ANALYZE")
        connection.commit()
    engine.dispose()
    scope = Region(national=True) if region == "national" else Region(national=False, county_code="07")
    dialect = db_session.get_bind().dialect.name
    statement = users_page_query(
        region_filter(scope), after_id=None, search=search, dialect=dialect, limit=100
    )
    plan = plan_of(db_session, statement)
    assert full_scans(plan, "user") == [], plan
    for index in ("ix_user_display_name_lower", "ix_user_username_lower", "ix_user_email_lower"):
        assert index in plan, plan


def test_the_loggutdrag_finds_the_persons_rows_and_the_searches_for_their_number_by_index(
    analysed, db_session, engine, now
):
    # A million cases log many millions of reads: the rows of one person are found by the indexes on the
    # person, their cases and their number's keyed hash (a search made before they were registered), never
    # by reading the log. The rows are inserted as they are, outside the chain: only the plan is read.
    db_session.execute(
        insert(AccessLogEntry),
        [
            {
                "seq": 100_000 + n,
                "at": now,
                "case_id": 100_000 + n if n % 3 else None,
                "person_id": 100_000 + n if n % 3 == 1 else None,
                "id_hash": f"{n:064x}" if n % 3 == 0 else None,
                "action": "person.lookup",
                "purpose": "test",
                "outcome": "allowed",
                "prev_hash": "0" * 64,
                "row_hash": "0" * 64,
            }
            for n in range(3000)
        ],
    )
    db_session.commit()
    with engine.connect() as connection:
        connection.exec_driver_sql("ANALYZE")
        connection.commit()
    engine.dispose()
    plan = plan_of(db_session, select(AccessLogEntry.seq).where(concerns_person(analysed[0].person_id)))
    assert full_scans(plan, "access_log", "sipcase", "person") == [], plan
    assert "ix_access_log_id_hash" in plan, plan


def test_the_nightly_consent_end_job_reads_the_weeks_ends_from_an_index(analysed, db_session):
    """At a million cases the job that moves the reminders ahead of the consent's end read every consent
    each night; it reads the range of last days it asks for."""
    from support import query_plan

    from sipflow.consent.services import consents_ended_query

    today = date(2026, 12, 5)
    # Sorting allowed: the week's few cases are grouped after the range is read (with sorts off PostgreSQL
    # would walk the whole case_id index to group without one).
    plan = query_plan(db_session, consents_ended_query(first=today - timedelta(days=7), last=today))
    assert full_scans(plan, "consent") == [], plan
    if db_session.get_bind().dialect.name == "sqlite":
        # On a few rows PostgreSQL's costs for this index and the case's tie (at a million it takes this
        # one: 0.04 ms against a parallel scan's 95 ms, bench/README.md).
        assert "ix_consent_valid_until" in plan, plan


@pytest.mark.parametrize("page", ["newest", "before"])
def test_the_case_pages_timeline_reads_one_page_of_its_steps_backwards_from_an_index(
    analysed, db_session, page
):
    """A SIP's timeline page walks its steps by (case_id, at, id) from the cursor and stops after the page:
    however long the SIP's log, no sort of it."""
    from sipflow.cases.queries import _TIMELINE, _TIMELINE_BEFORE

    if page == "newest":
        bound = _TIMELINE.params(case_id=analysed[0].id)
    else:
        before = datetime(2026, 11, 2, 10, tzinfo=UTC)
        bound = _TIMELINE_BEFORE.params(case_id=analysed[0].id, before_at=before, before_id=2)
    plan = plan_of(db_session, bound)
    assert full_scans(plan, "transitionlog", "user", "organisation") == [], plan
    assert "ix_transitionlog_case_id_at_id" in plan, plan
    assert "TEMP B-TREE" not in plan and "Sort" not in plan, plan


@pytest.mark.parametrize("backwards", [False, True])
def test_the_administrations_lists_walk_their_keyset_indexes_both_ways(
    analysed, db_session, engine, parties, now, backwards
):
    """The previous page of the users, the units and the administration log is read as the next one is:
    from the cursor along the list's index, nearest first, however deep the page (no OFFSET, no sort)."""
    from sipflow.admin.changes import record_change
    from sipflow.admin.directory import by_name_query, units_query
    from sipflow.admin.models import AdminChange
    from sipflow.admin.queries import log_rows_query
    from sipflow.people.models import Organisation, Unit

    db_session.execute(
        insert(Unit),
        [
            {
                "key": f"plan-enhet-{n}",
                "organisation_id": parties.region.organisation_id,
                "name": f"Enhet {n}",
            }
            for n in range(2000)
        ],
    )
    for n in range(200):
        at = now - timedelta(minutes=n)
        record_change(
            db_session, actor_user_id=None, action="unit.update", target_kind="unit", target_id=n, now=at
        )
    db_session.commit()
    with engine.connect() as connection:
        connection.exec_driver_sql("ANALYZE")
        connection.commit()
    engine.dispose()
    unit = db_session.get(Unit, parties.region.id)
    change = db_session.exec(select(AdminChange).limit(1)).one()
    dialect = db_session.get_bind().dialect.name
    statements = {
        "users by id": users_page_query(
            None, after_id=unit.id, search=None, dialect=dialect, limit=100, backwards=backwards
        ),
        "ix_unit_name_id": by_name_query(units_query(), Unit, unit, backwards=backwards, count=51),
        "ix_organisation_name_id": by_name_query(
            select(Organisation),
            Organisation,
            db_session.get(Organisation, unit.organisation_id),
            backwards=backwards,
            count=51,
        ),
        "ix_admin_change_at_id": log_rows_query(select(AdminChange), change, backwards=backwards, count=51),
    }
    for index, statement in statements.items():
        plan = plan_of(db_session, statement)
        assert full_scans(plan, "user", "unit", "organisation", "admin_change") == [], plan
        assert "TEMP B-TREE" not in plan and "Sort" not in plan, plan
        if index.startswith("ix_"):
            assert index in plan, plan
