"""A step's log row: on PostgreSQL its first deadline write carries it (one round trip fewer), same rows."""

import support
from sqlmodel import select

from sipflow.cases.models import Deadline, TransitionLog

# The steps of the sip workflow that settle or start a deadline: their log row rides in that statement.
DEADLINE_STEPS = {"send_kallelse", "establish_plan", "follow_up", "revise_plan", "close"}


def _fire_happy_path(db_session, registry, parties, case, engine, now):
    """Fire the sip happy path; return {trigger: the statements of that step}."""
    steps = support.fired_with_statements(db_session, registry, parties.region_user, case, engine, start=now)
    return dict(steps)


def _log_inserts(seen):
    return [s for s in seen if s.lstrip().upper().startswith("INSERT INTO TRANSITIONLOG")]


def _carried(seen):
    return [
        s for s in seen if " ".join(s.split()).startswith("WITH logged_step AS (INSERT INTO transitionlog")
    ]


def test_each_step_logs_once_and_deadline_steps_carry_it_on_postgresql(
    db_session, registry, parties, create_case, engine, now
):
    case = create_case("sip")
    seen_by_step = _fire_happy_path(db_session, registry, parties, case, engine, now)
    postgresql = engine.dialect.name == "postgresql"
    for trigger, seen in seen_by_step.items():
        carried = postgresql and trigger in DEADLINE_STEPS
        # Exactly one statement writes the log row: its own INSERT, or the deadline write carrying it.
        assert len(_log_inserts(seen)) == (0 if carried else 1), (trigger, seen)
        assert len(_carried(seen)) == (1 if carried else 0), (trigger, seen)
        if carried:
            assert not [
                s for s in seen if s.lstrip().upper().startswith(("UPDATE DEADLINE", "INSERT INTO DEADLINE"))
            ]


def test_the_log_and_the_deadlines_hold_what_each_step_did(
    db_session, registry, parties, create_case, engine, now
):
    case = create_case("sip")
    _fire_happy_path(db_session, registry, parties, case, engine, now)
    db_session.expire_all()
    log = db_session.exec(
        select(TransitionLog).where(TransitionLog.case_id == case.id).order_by(TransitionLog.id)
    )
    steps = [(row.trigger, row.from_state, row.to_state, row.user_id) for row in log.all()]
    user = parties.region_user.id
    assert steps[1:] == [
        ("give_consent", "requested", "consent_given", user),
        ("start_preparation", "consent_given", "preparing", user),
        ("send_kallelse", "preparing", "invited", user),
        ("hold_meeting", "invited", "meeting_held", user),
        ("establish_plan", "meeting_held", "plan_established", user),
        ("follow_up", "plan_established", "follow_up", user),
        ("revise_plan", "follow_up", "plan_established", user),
        ("close", "plan_established", "closed", user),
    ]
    deadlines = db_session.exec(
        select(Deadline).where(Deadline.case_id == case.id).order_by(Deadline.id)
    ).all()
    # The kallelse met at send_kallelse, the first follow-up met at follow_up, the revised plan's follow-up
    # started by revise_plan (a Core INSERT) and cancelled by close: every one settled, none left open.
    assert [d.kind for d in deadlines].count("follow_up") == 2, deadlines
    assert all(d.met_at is not None or d.cancelled_at is not None for d in deadlines), deadlines
    assert deadlines[-1].cancelled_at is not None and deadlines[-1].met_at is None
