"""Writes of one step that PostgreSQL takes in one statement (a data-modifying WITH), SQLite in several.

Each test asserts the shape of its dialect: the folded statement on PostgreSQL, the separate ones on SQLite,
and on both that the rows written and the session's objects are what the separate statements gave.
"""

from datetime import timedelta

import support
from sqlmodel import select

from sipflow.cases.scripted import scripted_input
from sipflow.consent.models import Consent, ConsentOrganisation
from sipflow.consent.services import give_consent
from sipflow.db import unit_of_work
from sipflow.meetings.models import Attendance, MeetingDecision
from sipflow.plans.models import Plan, PlanEffort, PlanGoal


def _inserts(seen: list[str], table: str) -> list[str]:
    """The statements among seen that are an INSERT INTO table (quoted or not)."""
    return [s for s in seen if s.lstrip().replace('"', "").startswith(f"INSERT INTO {table} ")]


def _writing(seen: list[str], table: str) -> list[str]:
    """The statements among seen that write table, on their own or in a WITH."""
    return [s for s in seen if f"INSERT INTO {table} " in s]


def _step(db_session, registry, parties, case, trigger, at):
    """Fire trigger on case with its scripted form; the statements it sent."""
    form = registry.get(case.workflow_name, case.workflow_version).transition(case.state, trigger).form
    data = scripted_input(db_session, case, form, at)
    with support.statements(db_session.get_bind()) as seen:
        support.fire(db_session, registry, parties.region_user, case, trigger, now=at, data=data)
    return seen


def test_a_consent_and_its_organisations_go_in_one_statement_on_postgresql(
    db_session, registry, parties, create_case, engine, now
):
    case = create_case("sip")
    seen = _step(db_session, registry, parties, case, "give_consent", now + timedelta(minutes=1))
    assert case.state == "consent_given"
    if engine.dialect.name == "postgresql":
        # One round trip: the consent's INSERT rides in a WITH of the statement that writes its organisations.
        assert _inserts(seen, "consent") == [] and _inserts(seen, "consentorganisation") == [], seen
        [folded] = _writing(seen, "consentorganisation")
        assert "INSERT INTO consent " in folded, folded
    else:
        assert len(_inserts(seen, "consent")) == 1 and len(_inserts(seen, "consentorganisation")) == 1, seen
    [consent] = db_session.exec(select(Consent).where(Consent.case_id == case.id)).all()
    covered = db_session.exec(
        select(ConsentOrganisation.organisation_id).where(ConsentOrganisation.consent_id == consent.id)
    ).all()
    assert sorted(covered) == sorted({parties.region.organisation_id, parties.municipality.organisation_id})


def test_each_guardians_consent_is_the_sessions_object_with_its_organisations(
    db_session, registry, parties, create_case, engine, now
):
    # A child's: a guardian's custody ends at 18, so only a child's guardians consent.
    case = create_case("sip_child")
    guardians = support.two_guardians(db_session, registry, case, now=now)
    db_session.commit()
    scope = sorted({parties.region.organisation_id, parties.municipality.organisation_id})
    data = {
        "given_by": "guardian",
        "form": "written",
        "organisation_ids": scope,
        "guardian_participant_ids": [g.id for g in guardians],
    }
    with support.statements(engine) as seen, unit_of_work(db_session):
        consents = give_consent(db_session, case, parties.region_user, data, now=now)
    # Two consents and their organisations: one statement on PostgreSQL; on SQLite the organisations' INSERT
    # (one for both) follows the consents'.
    if engine.dialect.name == "postgresql":
        assert len([s for s in seen if "INSERT INTO consent" in s]) == 1, seen
    else:
        assert _inserts(seen, "consent") and len(_inserts(seen, "consentorganisation")) == 1, seen
    assert [(c.given_by_name, c.given_by_participant_id) for c in consents] == [
        (g.name, g.id) for g in guardians
    ]
    for consent in consents:
        # The session's own object, as a read gives it: the same, nothing left to write.
        assert db_session.get(Consent, consent.id) is consent and consent not in db_session.dirty
        covered = db_session.exec(
            select(ConsentOrganisation.organisation_id).where(ConsentOrganisation.consent_id == consent.id)
        ).all()
        assert sorted(covered) == scope
    db_session.expire_all()
    rows = db_session.exec(select(Consent).where(Consent.case_id == case.id).order_by(Consent.id)).all()
    assert [(c.id, c.given_by_participant_id, c.given_by, c.form) for c in rows] == [
        (c.id, c.given_by_participant_id, "guardian", "written") for c in consents
    ]


def test_a_plan_started_by_the_preparation_and_its_goals_go_in_one_statement_on_postgresql(
    db_session, registry, parties, create_case, engine, now
):
    case = create_case("sip")
    _step(db_session, registry, parties, case, "give_consent", now + timedelta(minutes=1))
    at = now + timedelta(minutes=2)
    form = registry.get(case.workflow_name, case.workflow_version).transition(case.state, "start_preparation")
    data = {
        **scripted_input(db_session, case, form.form, at),
        "own_goals": "Bo kvar hemma\nbo kvar hemma\nLaga mat",
    }
    with support.statements(engine) as seen:
        support.fire(db_session, registry, parties.region_user, case, "start_preparation", now=at, data=data)
    if engine.dialect.name == "postgresql":
        # One round trip: the plan's INSERT ... WHERE NOT EXISTS rides in a WITH of its goals' INSERT.
        assert _inserts(seen, "plan") == [] and _inserts(seen, "plangoal") == [], seen
        [folded] = _writing(seen, "plangoal")
        assert "INSERT INTO plan " in folded, folded
    else:
        assert len(_inserts(seen, "plan")) == 1 and len(_inserts(seen, "plangoal")) == 1, seen
    [plan] = db_session.exec(select(Plan).where(Plan.case_id == case.id)).all()
    goals = db_session.exec(select(PlanGoal).where(PlanGoal.plan_id == plan.id).order_by(PlanGoal.position))
    # Each goal once (the same words in another case are the same goal), in the order typed.
    assert [(g.kind, g.text, g.position) for g in goals] == [
        ("own", "Bo kvar hemma", 0),
        ("own", "Laga mat", 1),
    ]


def test_a_held_meetings_attendance_and_decisions_go_in_one_statement_on_postgresql(
    db_session, registry, parties, create_case, engine, now
):
    case = create_case("sip")
    path = support.SIP_HAPPY_PATH
    for step, trigger in enumerate(path[: path.index("hold_meeting")], start=1):
        support.fire(
            db_session, registry, parties.region_user, case, trigger, now=now + timedelta(minutes=step)
        )
    at = now + timedelta(minutes=10)
    form = registry.get(case.workflow_name, case.workflow_version).transition(case.state, "hold_meeting").form
    data = scripted_input(db_session, case, form, at)
    data["decisions"] = [*data["decisions"], {**data["decisions"][0], "text": "Ett andra beslut"}]
    with support.statements(engine) as seen:
        log = support.fire(db_session, registry, parties.region_user, case, "hold_meeting", now=at, data=data)
    if engine.dialect.name == "postgresql":
        # One round trip: the attendance's INSERT rides in a WITH of the decisions'.
        assert _inserts(seen, "attendance") == [], seen
        [folded] = _writing(seen, "meetingdecision")
        assert "INSERT INTO attendance " in folded, folded
    else:
        # (SQLite: the ORM inserts the decisions one by one, to read each id back.)
        assert len(_inserts(seen, "attendance")) == 1 and _inserts(seen, "meetingdecision"), seen
    meeting_id = log.details["meeting_id"]
    attended = db_session.exec(select(Attendance).where(Attendance.meeting_id == meeting_id)).all()
    assert {a.participant_id: a.mode for a in attended} == data["attendance"]
    decisions = db_session.exec(
        select(MeetingDecision).where(MeetingDecision.meeting_id == meeting_id).order_by(MeetingDecision.id)
    ).all()
    # In the order written, each the session's own object, and the plan's efforts made from them name them.
    assert [(d.position, d.text) for d in decisions] == [
        (0, data["decisions"][0]["text"].strip()),
        (1, "Ett andra beslut"),
    ]
    assert all(d not in db_session.dirty for d in decisions)
    efforts = db_session.exec(select(PlanEffort).where(PlanEffort.decision_id.is_not(None))).all()
    assert sorted(e.decision_id for e in efforts) == [d.id for d in decisions]
