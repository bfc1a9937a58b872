"""How many statements one step sends to the database: a regression in the transition path shows here.

The ceilings are the counts bench/transitions.py records (bench/README.md); the form's data is prepared
before counting, as the benchmark keeps it out of its timed loop.
"""

from datetime import timedelta

import pytest
import support

from sipflow.cases.scripted import scripted_input

# Statements (SELECT, INSERT, UPDATE; not BEGIN/COMMIT) one step of the sip workflow may send at most,
# the actor and the case already in the session: 62 in all (77 before issue 9). Each ceiling counts one
# UPDATE of case_visibility (Mina SIP's candidates take the case's new time); open deadlines settle in one
# UPDATE per outcome. bench/transitions.py counts the whole lifecycle, with the start and each request's
# loads of actor and case. Recording a meeting's outcome writes its decisions and carries them into the
# working plan as efforts (issue 10): six statements more for hold_meeting, five for follow_up. Coding the
# held meeting (issue 12: its units, the codes in force, the person, the records) adds four to both.
CEILINGS = {
    "give_consent": 7,
    "start_preparation": 6,
    "send_kallelse": 9,
    "hold_meeting": 18,
    "establish_plan": 8,
    "follow_up": 19,
    "revise_plan": 7,
    "close": 7,
}


def _steps(db_session, registry, parties, create_case, engine, now):
    """Fire the sip happy path; yield (trigger, statements of that step)."""
    case = create_case("sip")
    for step, trigger in enumerate(support.SIP_HAPPY_PATH, start=1):
        at = now + timedelta(minutes=step)
        form = registry.get(case.workflow_name, case.workflow_version).transition(case.state, trigger).form
        data = scripted_input(db_session, case, form, at)
        with support.statements(engine) as seen:
            support.fire(db_session, registry, parties.region_user, case, trigger, now=at, data=data)
        yield trigger, seen


def test_each_step_stays_within_its_ceiling(db_session, registry, parties, create_case, engine, now):
    steps = _steps(db_session, registry, parties, create_case, engine, now)
    counts = {trigger: len(seen) for trigger, seen in steps}
    over = {t: (n, CEILINGS[t]) for t, n in counts.items() if n > CEILINGS[t]}
    assert not over, f"steps over their statement ceiling (count, ceiling): {over}"


@pytest.mark.parametrize("trigger", ["give_consent", "send_kallelse"])
def test_a_step_updates_the_case_row_once(trigger, db_session, registry, parties, create_case, engine, now):
    for fired, seen in _steps(db_session, registry, parties, create_case, engine, now):
        if fired == trigger:
            updates = [s for s in seen if s.lstrip().upper().startswith("UPDATE SIPCASE")]
            assert len(updates) == 1, updates
            return


@pytest.mark.parametrize("trigger", ["send_kallelse", "follow_up", "close"])
def test_a_step_settles_its_deadlines_in_one_update_the_session_sees(
    trigger, db_session, registry, parties, create_case, engine, now
):
    from sqlmodel import select

    from sipflow.cases.models import Deadline

    held: list = []
    for fired, seen in _steps(db_session, registry, parties, create_case, engine, now):
        if fired == trigger:
            deadline_statements = [s for s in seen if "deadline" in s.lower() and "INSERT" not in s.upper()]
            assert len(deadline_statements) == 1, deadline_statements
            assert deadline_statements[0].lstrip().upper().startswith("UPDATE DEADLINE")
            # The deadlines the session held before the step show how it settled them.
            assert held and all(d.met_at is not None or d.cancelled_at is not None for d in held)
            return
        held = list(
            db_session.exec(
                select(Deadline).where(Deadline.met_at.is_(None), Deadline.cancelled_at.is_(None))
            ).all()
        )
