"""The demo loader (Kronoberg organisations, users, personas) and the synthetic bulk cases."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import timedelta

import pytest
from sqlalchemy import func, text
from sqlmodel import SQLModel, select
from support import empty_tables

from sipflow.admin.users import coordinator_scope
from sipflow.cases.models import Deadline, Participant, SipCase, TransitionLog
from sipflow.cases.scripted import fire_scripted
from sipflow.clock import end_of_local_day, first_working_day, now_utc, stored_utc, to_local
from sipflow.consent.models import Consent, ConsentOrganisation
from sipflow.demo import (
    DEMO_PASSWORD,
    DEMO_USERS,
    PERSONA_PRIORITIES,
    PERSONA_REFERENCES,
    load_demo,
    load_synthetic_cases,
)
from sipflow.demo.population import DEMO_COUNTIES
from sipflow.meetings.models import Attendance, Meeting, MeetingDecision
from sipflow.people.identifiers import last_day_as_minor
from sipflow.people.models import Municipality, Organisation, Person, Unit, User
from sipflow.plans.models import HuvudansvarTransfer, Plan, PlanApproval, PlanGoal, PlanVersion
from sipflow.security.passwords import verify_password


def row_counts(session) -> dict[str, int]:
    return {
        table.name: session.exec(select(func.count()).select_from(table)).one()
        for table in SQLModel.metadata.sorted_tables
    }


def persona_cases(session) -> dict[str, SipCase]:
    return {
        key: session.exec(select(SipCase).where(SipCase.reference == reference)).one()
        for key, reference in PERSONA_REFERENCES.items()
    }


def test_load_demo_twice_changes_nothing(app_ctx, db_session):
    first = load_demo()
    counts = row_counts(db_session)
    second = load_demo()
    assert row_counts(db_session) == counts
    assert counts["municipality"] == 290 and counts["county"] == 21
    assert counts["sipcase"] == 3 and counts["person"] == 3
    assert "(3 new)" in first and "(0 new)" in second
    assert "\n" not in first


def test_personas_are_where_their_stories_are(app_ctx, db_session, registry):
    load_demo()
    cases = persona_cases(db_session)
    assert {key: case.state for key, case in cases.items()} == {
        "viktoria": "consent_given",
        "mikael": "plan_established",
        "kim": "meeting_held",
    }
    for case in cases.values():
        assert case.state in registry.get(case.workflow_name, case.workflow_version).states
        person = db_session.get(Person, case.person_id)
        assert person.home_municipality_code == "0780"

    kim = cases["kim"]
    assert (kim.workflow_name, kim.occasion) == ("sip_discharge", "discharge")
    kim_person = db_session.get(Person, kim.person_id)
    assert (kim_person.id_kind, kim_person.legal_sex) == ("reservnummer", "unknown")
    assert timedelta(days=7) < now_utc() - kim.utskrivningsklar_at < timedelta(days=8)
    psychiatry = db_session.exec(select(Unit).where(Unit.key == "region-07-psykiatri-vaxjo")).one()
    assert kim.initiating_organisation_id == psychiatry.organisation_id
    deadline = db_session.exec(select(Deadline).where(Deadline.case_id == kim.id)).one()
    assert deadline.kind == "kallelse" and deadline.met_at is not None

    assert db_session.get(Person, cases["viktoria"].person_id).legal_sex == "female"
    assert db_session.get(Person, cases["mikael"].person_id).legal_sex == "male"


def test_personas_keep_their_own_words_and_parties(app_ctx, db_session):
    load_demo()
    cases = persona_cases(db_session)
    # Viktoria has not started preparing: her words wait in the questions. Mikael's and Kim's are their own
    # goals in the plan, and their questions are the agenda's.
    for priority in PERSONA_PRIORITIES["viktoria"]:
        assert priority in cases["viktoria"].questions
    for key in ("mikael", "kim"):
        plan = db_session.exec(select(Plan).where(Plan.case_id == cases[key].id)).one()
        own = db_session.exec(
            select(PlanGoal.text).where(PlanGoal.plan_id == plan.id, PlanGoal.kind == "own")
        ).all()
        assert set(PERSONA_PRIORITIES[key]) <= set(own)
        assert not any(priority in cases[key].questions for priority in PERSONA_PRIORITIES[key])
        assert "?" in cases[key].questions

    def organisations(case):
        rows = db_session.exec(
            select(Organisation.key)
            .join(Participant, Participant.organisation_id == Organisation.id)
            .where(Participant.case_id == case.id)
        ).all()
        return set(rows)

    def relatives(case):
        return db_session.exec(
            select(Participant.relation).where(
                Participant.case_id == case.id, Participant.kind == "narstaende"
            )
        ).all()

    assert organisations(cases["viktoria"]) == {"region-07", "kommun-0780"}
    assert organisations(cases["mikael"]) == {"region-07", "kommun-0780", "arbetsformedlingen"}
    assert organisations(cases["kim"]) == {
        "region-07",
        "kommun-0780",
        "arbetsformedlingen",
        "forsakringskassan",
    }
    assert sorted(relatives(cases["viktoria"])) == ["mamma", "pappa"]
    assert relatives(cases["kim"]) == ["mamma"]
    assert len(relatives(cases["mikael"])) == 1


def test_demo_users_can_log_in(app_ctx, db_session):
    load_demo()
    users = {u.username: u for u in db_session.exec(select(User)).all()}
    assert set(users) == {spec.username for spec in DEMO_USERS}
    for user in users.values():
        assert user.active
        assert user.email.split("@")[1].endswith("example.se")
    # Hashed once for all of them (argon2 is slow on purpose), so one verification covers every user.
    for password_hash in {user.password_hash for user in users.values()}:
        assert verify_password(password_hash, DEMO_PASSWORD)
    assert not verify_password(users["anna"].password_hash, "wrong")

    anna_unit = db_session.get(Unit, users["anna"].unit_id)
    region = db_session.get(Organisation, anna_unit.organisation_id)
    assert (region.name, region.kind, region.county_code) == ("Region Kronoberg", "region", "07")
    assert users["kerstin"].has_role("coordinator") and users["kerstin"].unit_id is None
    assert coordinator_scope(db_session, users["kerstin"]) == (frozenset({"07"}), frozenset())
    assert users["admin"].has_role("admin")
    assert all(users[name].has_role("staff") for name in ("anna", "erik", "sara", "omar", "petra"))


def test_demo_login_page_accepts_anna(app, app_ctx):
    load_demo()
    app.config["WTF_CSRF_ENABLED"] = False
    try:
        response = app.test_client().post("/login", data={"username": "anna", "password": DEMO_PASSWORD})
    finally:
        app.config["WTF_CSRF_ENABLED"] = True
    assert response.status_code == 302


# --- synthetic cases -------------------------------------------------------------------------------------


def replay_is_consistent(session, registry) -> None:
    """Every case's log replays through its workflow from the initial state to the case's state."""
    logs = defaultdict(list)
    for log in session.exec(select(TransitionLog).order_by(TransitionLog.case_id, TransitionLog.id)).all():
        logs[log.case_id].append(log)
    for case in session.exec(select(SipCase)).all():
        workflow = registry.get(case.workflow_name, case.workflow_version)
        assert case.state in workflow.states
        entries = logs[case.id]
        assert entries[0].trigger == "create" and entries[0].to_state == workflow.initial
        state = workflow.initial
        for log in entries[1:]:
            transition = workflow.transition(state, log.trigger)
            assert transition is not None and log.from_state == state
            assert log.to_state == transition.dest
            state = transition.dest
        assert state == case.state
        assert case.version == len(entries)
        assert all(a.at <= b.at for a, b in zip(entries, entries[1:], strict=False))


def test_synthetic_cases_cover_municipalities_sexes_triggers_and_years(app_ctx, db_session, registry):
    assert load_synthetic_cases(300, seed=1) == 300
    persons = db_session.exec(select(Person)).all()
    all_codes = set(
        db_session.exec(select(Municipality.code).where(Municipality.county_code.in_(DEMO_COUNTIES))).all()
    )
    assert len(all_codes) == 30
    assert {p.home_municipality_code for p in persons} == all_codes
    assert {p.legal_sex for p in persons} == {"female", "male", "unknown"}
    ages = [(now_utc().date() - p.birth_date).days // 365 for p in persons if p.birth_date]
    assert min(ages) < 5 and max(ages) > 80
    cases = db_session.exec(select(SipCase)).all()
    assert {c.occasion for c in cases} == {"other_need", "discharge", "child"}
    states = Counter(c.state for c in cases)
    assert {"closed", "plan_established", "withdrawn", "declined"} <= set(states)
    held = db_session.exec(select(Meeting.held_at).where(Meeting.status == "held")).all()
    assert max(held) - min(held) > timedelta(days=2 * 365)
    assert max(held) <= now_utc()
    kinds = set(db_session.exec(select(Meeting.kind, Meeting.mode).where(Meeting.status == "held")).all())
    assert {k for k, _ in kinds} == {"first", "follow_up"}
    assert {m for _, m in kinds} == {"on_site", "video", "mixed"}
    replay_is_consistent(db_session, registry)

    assert load_synthetic_cases(300, seed=1) == 300
    references = db_session.exec(select(SipCase.reference)).all()
    assert len(references) == len(set(references)) == 600
    assert "SIP-SYN-1-00000600" in references
    replay_is_consistent(db_session, registry)


def test_synthetic_rows_hang_together(app_ctx, db_session, registry):
    # A batch size below n sends the generation to a worker process (where fork is available).
    load_synthetic_cases(250, seed=2, batch_size=100)
    replay_is_consistent(db_session, registry)
    cases = {c.id: c for c in db_session.exec(select(SipCase)).all()}
    assert len(cases) == 250
    hashes = db_session.exec(select(Person.id_hash)).all()
    assert len(set(hashes)) == 250

    consents = db_session.exec(select(Consent)).all()
    given = {c.case_id for c in consents if c.decision == "given"}
    past_consent = set(
        db_session.exec(select(TransitionLog.case_id).where(TransitionLog.trigger == "give_consent")).all()
    )
    assert given == past_consent
    scope = Counter(co.consent_id for co in db_session.exec(select(ConsentOrganisation)).all())
    assert all(scope[c.id] >= 2 for c in consents if c.decision == "given")
    for consent in consents:
        if cases[consent.case_id].state == "withdrawn" and consent.decision == "given":
            assert consent.withdrawn_at is not None

    for case in cases.values():
        organisations = db_session.exec(
            select(func.count()).where(Participant.case_id == case.id, Participant.kind == "organisation")
        ).one()
        assert 2 <= organisations <= 4
    held = db_session.exec(select(Meeting).where(Meeting.status == "held")).all()
    attended = {a.meeting_id for a in db_session.exec(select(Attendance)).all()}
    assert held and {m.id for m in held} <= attended
    deadlines = db_session.exec(select(Deadline)).all()
    for deadline in deadlines:
        if deadline.kind == "kallelse" and cases[deadline.case_id].occasion == "discharge":
            # To the end of the third day in Sweden, moved off a weekend or holiday (sip_discharge.toml).
            third_day = to_local(
                stored_utc(cases[deadline.case_id].utskrivningsklar_at) + timedelta(days=3)
            ).date()
            assert stored_utc(deadline.due_at) == end_of_local_day(first_working_day(third_day))
        if cases[deadline.case_id].state in ("closed", "withdrawn", "declined", "cancelled"):
            assert deadline.met_at is not None or deadline.cancelled_at is not None


def test_synthetic_guardians_consent_ends_with_custody_and_the_young_adult_consents_after(
    app_ctx, db_session, registry
):
    """A guardian's consent lasts at most to the day before the 18th birthday (consent.services.
    guardians_last_day); the loader gave every guardian's consent three years, so a county's demo or
    benchmark data held child SIPs running years on the guardians' consent of an adult, which the app
    refuses and its consent jobs act on. From the birthday the person consents themselves."""
    load_synthetic_cases(400, seed=18)
    rows = db_session.exec(
        select(Consent, SipCase, Person)
        .join(SipCase, SipCase.id == Consent.case_id)
        .join(Person, Person.id == SipCase.person_id)
        .where(Person.birth_date.is_not(None))
    ).all()
    by_case = defaultdict(list)
    for consent, case, person in rows:
        by_case[case.id].append((consent, case, person))
        if consent.given_by != "guardian":
            continue
        last_day = last_day_as_minor(person.birth_date)
        assert to_local(stored_utc(consent.recorded_at)).date() <= last_day, case.reference
        if consent.decision == "given":
            assert consent.valid_until <= last_day, case.reference
    crossed = 0
    for consents in by_case.values():
        guardians = [c for c, _, _ in consents if c.given_by == "guardian" and c.decision == "given"]
        if not guardians:
            continue
        _, case, person = consents[0]
        last_day = last_day_as_minor(person.birth_date)
        own = [c for c, _, _ in consents if c.given_by == "person" and c.decision == "given"]
        if guardians[0].valid_until == last_day and own:
            crossed += 1
            (adult,) = own
            assert to_local(stored_utc(adult.recorded_at)).date() > last_day
            assert adult.valid_until > last_day
    assert crossed > 0


def test_synthetic_rows_are_stored_as_the_orm_stores_them(app_ctx, db_session, engine):
    load_demo()  # persona rows: written through the ORM
    load_synthetic_cases(60, seed=6)  # bulk rows: written by the loader
    logs = db_session.exec(select(TransitionLog).where(TransitionLog.trigger == "hold_meeting")).all()
    assert logs
    for log in logs:
        meeting = db_session.get(Meeting, log.details["meeting_id"])
        assert (meeting.case_id, meeting.status) == (log.case_id, "held")
        assert log.details["decisions"] or log.details["no_change_reason"]
    if engine.dialect.name != "sqlite":
        return
    with engine.connect() as connection:
        texts = connection.exec_driver_sql(
            "SELECT reference, requested_at, typeof(requested_at) FROM sipcase"
        ).all()
    shapes = {(ref.startswith("SIP-DEMO"), kind, len(text), text[10], text[19]) for ref, text, kind in texts}
    # The same text, "YYYY-MM-DD HH:MM:SS.ffffff", whichever way the row was written: SQL compares them.
    assert shapes == {(True, "text", 26, " ", "."), (False, "text", 26, " ", ".")}


def test_the_service_layer_continues_a_synthetic_case(app_ctx, db_session, registry):
    load_synthetic_cases(200, seed=4)
    case = db_session.exec(
        select(SipCase).where(SipCase.state == "plan_established").order_by(SipCase.id)
    ).first()
    lead = db_session.exec(
        select(Participant).where(Participant.case_id == case.id, Participant.role == "huvudansvarig")
    ).first()
    if lead is None:  # the initiator kept huvudansvar
        lead = db_session.exec(
            select(Participant).where(Participant.case_id == case.id, Participant.role == "initiator")
        ).one()
    actor = db_session.exec(select(User).where(User.unit_id == lead.unit_id)).one()
    now = now_utc()
    fire_scripted(db_session, registry, actor, case, "follow_up", now=now)
    db_session.commit()
    assert case.state == "follow_up"


def test_demo_after_synthetic_cases_gets_fresh_ids(app_ctx, db_session):
    # The bulk load assigns ids itself: later ORM inserts (PostgreSQL's sequences) must carry on past them.
    load_synthetic_cases(50, seed=5)
    load_demo()
    assert len(persona_cases(db_session)) == 3


def test_synthetic_cases_are_deterministic_for_a_seed(app, app_ctx, db_session):
    from sipflow.demo.synthetic import load_synthetic_cases as load

    fixed_now = now_utc().replace(microsecond=0)

    def snapshot():
        rows = db_session.exec(
            select(SipCase.reference, SipCase.state, SipCase.requested_at, Person.id_number)
            .join(Person, Person.id == SipCase.person_id)
            .order_by(SipCase.reference)
        ).all()
        return [tuple(r) for r in rows]

    load(40, seed=9, now=fixed_now)
    first = snapshot()
    # Every row but the reference data (and the code catalogue the migrations seed) goes, as between tests.
    empty_tables(app.extensions["sipflow.engine"])
    load(40, seed=9, now=fixed_now)
    assert snapshot() == first


@pytest.mark.parametrize("args", [["--cases", "50", "--seed", "3"]])
def test_cli_demo_command(app, args):
    result = app.test_cli_runner().invoke(args=["sipflow", "demo", *args])
    assert result.exit_code == 0, result.output
    assert "SIP-DEMO-0003" in result.output
    assert "added 50 synthetic cases" in result.output


@pytest.mark.parametrize("cases", ["-5", "10000001", "99999999999999999999"])
def test_cli_demo_refuses_a_number_of_cases_out_of_range(app, app_ctx, db_session, cases):
    result = app.test_cli_runner().invoke(args=["sipflow", "demo", "--cases", cases])
    assert result.exit_code == 2, result.output
    assert "Invalid value for '--cases'" in result.output
    assert "0<=x<=10000000" in result.output
    assert db_session.exec(select(SipCase)).first() is None


def test_demo_books_meetings_and_sends_their_invitations(app_ctx, db_session, app):
    """Mikael's video meeting and Kim's meeting on site are booked ahead, their invitations in the outbox."""
    import email
    import re
    from email import policy
    from pathlib import Path

    from sipflow.meetings.models import Invitation, Meeting

    load_demo()
    cases = persona_cases(db_session)
    meetings = {
        key: db_session.exec(select(Meeting).where(Meeting.case_id == cases[key].id)).one()
        for key in ("mikael", "kim")
    }
    assert meetings["mikael"].mode == "video" and meetings["mikael"].video_url.startswith("https://")
    assert meetings["kim"].mode == "on_site" and meetings["kim"].location == "Strandvägen 8, Växjö"
    # The demo follows the booking form's advice: no clinic's name (a health fact) in the calendars' place.
    assert "Psykiatri" not in meetings["kim"].location
    for meeting in meetings.values():
        # Held on the booked day, in the past: the outcome page records no move.
        assert meeting.ends_at < now_utc() and meeting.status == "held"
    # Kim has no address of her own (and her mother none either): they are called some other way.
    kim_channels = {
        i.channel
        for i in db_session.exec(select(Invitation).where(Invitation.meeting_id == meetings["kim"].id))
    }
    assert kim_channels == {"email", "other"}
    sent = [
        email.message_from_bytes(path.read_bytes(), policy=policy.default)
        for path in Path(app.config["OUTBOX_DIR"]).glob("*.eml")
    ]
    subjects = {m["Subject"] for m in sent}
    assert any("SIP-DEMO-0002" in s for s in subjects) and any("SIP-DEMO-0003" in s for s in subjects)
    assert "mikael.johansson@example.se" in {m["To"] for m in sent}
    # No persona's name in a subject, not even inside the case reference.
    names = re.compile(r"\b(viktoria|mikael|johansson|kim)\b", re.IGNORECASE)
    assert not any(names.search(s) for s in subjects), subjects
    load_demo()  # a second run books nothing more
    assert len(db_session.exec(select(Meeting)).all()) == 2


def planner_statistics(session) -> set[str]:
    """The tables the query planner has statistics of (written by ANALYZE)."""
    if session.get_bind().dialect.name == "sqlite":
        if not session.exec(text("SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'")).one()[0]:
            return set()
        return {row[0] for row in session.exec(text("SELECT tbl FROM sqlite_stat1"))}
    rows = session.exec(text("SELECT DISTINCT tablename FROM pg_stats WHERE schemaname = current_schema()"))
    return {row[0] for row in rows}


def forget_planner_statistics(session) -> None:
    """SQLite: drop the statistics an earlier load left (PostgreSQL keeps them out of reach of a test)."""
    if session.get_bind().dialect.name != "sqlite":
        return
    if session.exec(text("SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'")).one()[0]:
        session.exec(text("DELETE FROM sqlite_stat1"))
        session.commit()


def test_a_synthetic_load_leaves_the_database_analysed(app_ctx, db_session):
    # Without statistics SQLite picks indexes by name, not selectivity (issue 9).
    forget_planner_statistics(db_session)
    if db_session.get_bind().dialect.name == "sqlite":
        assert "participant" not in planner_statistics(db_session)
    load_synthetic_cases(30, seed=11)
    assert {"sipcase", "participant", "consent", "meeting", "transitionlog"} <= planner_statistics(db_session)


def test_cli_demo_progress_goes_to_stderr_when_asked(app):
    quiet = app.test_cli_runner().invoke(args=["sipflow", "demo", "--cases", "20", "--seed", "12"])
    assert quiet.exit_code == 0, quiet.output
    assert "synthetic cases:" not in quiet.output  # not a terminal, not asked: no progress at all
    loud = app.test_cli_runner().invoke(
        args=["sipflow", "demo", "--cases", "20", "--seed", "13", "--progress"]
    )
    assert loud.exit_code == 0, loud.output
    assert "synthetic cases: 20/20 (100 %)" in loud.stderr
    assert "synthetic cases:" not in loud.stdout
    assert "added 20 synthetic cases" in loud.stdout


def test_mikael_has_an_established_plan_in_his_own_words(app_ctx, db_session):
    load_demo()
    mikael = persona_cases(db_session)["mikael"]
    version = db_session.exec(select(PlanVersion).where(PlanVersion.case_id == mikael.id)).one()
    content = version.content
    assert version.number == 1 and version.pdf.startswith(b"%PDF")
    assert [g["text"] for g in content["own_goals"]] == list(PERSONA_PRIORITIES["mikael"])
    efforts = [e for e in content["efforts"] if e["kind"] == "effort"]
    assert {e["unit"] for e in efforts} == {
        "Vårdcentralen Teleborg",
        "Socialtjänsten (IFO)",
        "Arbetsförmedlingen Växjö",
    }
    for effort in efforts:
        assert effort["organisation"] and effort["responsible"] and effort["status"] in ("planned", "ongoing")
        assert effort["starts_on"] <= effort["ends_on"]
    assert content["huvudansvar"]["organisation"] == "Växjö kommun"
    transfer = db_session.exec(
        select(HuvudansvarTransfer).where(HuvudansvarTransfer.case_id == mikael.id)
    ).one()
    assert transfer.user_id is not None  # given by a user through the service, logged
    assert mikael.follow_up_on > now_utc()
    meeting = db_session.exec(select(Meeting).where(Meeting.case_id == mikael.id)).one()
    assert meeting.status == "held" and not meeting.moved and version.established_at > meeting.ends_at

    approvals = db_session.exec(select(PlanApproval).where(PlanApproval.version_id == version.id)).all()
    approved = [db_session.get(Participant, a.participant_id) for a in approvals]
    organisations = {p.organisation_id for p in approved if p.kind == "organisation"}
    taking_part = set(
        db_session.exec(
            select(Participant.organisation_id).where(
                Participant.case_id == mikael.id, Participant.kind == "organisation"
            )
        ).all()
    )
    assert organisations == taking_part and "person" in {p.kind for p in approved}
    assert {a.method for a in approvals} == {"meeting"}


def test_kims_first_meeting_is_held_with_decisions(app_ctx, db_session):
    load_demo()
    kim = persona_cases(db_session)["kim"]
    meeting = db_session.exec(select(Meeting).where(Meeting.case_id == kim.id)).one()
    assert meeting.status == "held"
    decisions = db_session.exec(select(MeetingDecision).where(MeetingDecision.meeting_id == meeting.id)).all()
    assert len(decisions) == 3
    for decision in decisions:
        assert (
            decision.text
            and decision.organisation_id is not None
            and decision.due_on > meeting.starts_at.date()
        )
    attended = db_session.exec(select(Attendance).where(Attendance.meeting_id == meeting.id)).all()
    assert {a.mode for a in attended} >= {"on_site", "phone"}
    assert persona_cases(db_session)["viktoria"].state == "consent_given"


def test_synthetic_follow_ups_fall_due_at_the_end_of_their_day_as_the_plan_step_stores_them(
    app_ctx, db_session, registry
):
    """A follow-up planned on a day is due by its end (plans.inputs.follow_up_due_at), so the synthetic
    history counts a follow-up held on its day as held by its date, as the real path would."""
    from sipflow.clock import stored_utc, to_local
    from sipflow.plans.inputs import follow_up_due_at

    load_synthetic_cases(300, seed=7)
    kinds = {
        deadline.kind
        for workflow in registry.workflows()
        for deadline in workflow.deadlines
        if deadline.indicator == "follow_up"
    }
    due = db_session.exec(
        select(Deadline.due_at, Deadline.met_at, SipCase.follow_up_on)
        .join(SipCase, SipCase.id == Deadline.case_id)
        .where(Deadline.kind.in_(kinds))
    ).all()
    assert due
    met_on_the_day = 0
    for due_at, met_at, follow_up_on in due:
        due_at = stored_utc(due_at)
        assert due_at == follow_up_due_at(to_local(due_at).date())
        assert stored_utc(follow_up_on) == follow_up_due_at(to_local(stored_utc(follow_up_on)).date())
        if met_at is not None and to_local(stored_utc(met_at)).date() == to_local(due_at).date():
            met_on_the_day += 1
            assert stored_utc(met_at) <= due_at
    assert met_on_the_day > 0


def test_synthetic_units_carry_the_role_the_services_give_them(app_ctx, db_session):
    # Huvudansvar handed on at a later plan leaves the starting organisation's units initiator, as
    # cases.services.role_of_unit says for a real SIP (it was "participant" in the synthetic rows).
    from sipflow.cases.services import role_of_unit

    load_synthetic_cases(400, seed=7)
    cases = {c.id: c for c in db_session.exec(select(SipCase)).all()}
    rows = defaultdict(list)
    taking_part = select(Participant).where(
        Participant.kind == "organisation", Participant.removed_at.is_(None)
    )
    for row in db_session.exec(taking_part).all():
        rows[row.case_id].append(row)
    wrong = [
        (row.case_id, row.role)
        for case_id, participants in rows.items()
        for row in participants
        if row.role != role_of_unit(cases[case_id], participants, row.organisation_id)
    ]
    assert wrong == []
