"""The reconciliation reads only what a change can move: a step that touches no reminder costs none.

`services.affected_families` maps what a transaction wrote of a case (noted after each flush, and the
columns a step's claim wrote) to the reminder families to reconcile; the others keep their rows as they are.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import support
from remkit import establish_with, reminders, walk
from sqlmodel import select

from sipflow.cases.models import SipCase
from sipflow.cases.scripted import scripted_input
from sipflow.meetings.models import Meeting
from sipflow.reminders.services import (
    ALL_FAMILIES,
    CASE_NEW,
    DEADLINE_ROW,
    DEADLINES,
    DECLARED,
    MEETING_ROW,
    MEETINGS,
    PARTICIPANT_ROW,
    affected_families,
)


@pytest.fixture
def sip(registry):
    return registry.latest("sip")


@pytest.mark.parametrize(
    "changes, families",
    [
        # Consent recorded, a text written: nothing a reminder is about.
        ({("step", "give_consent", "consent_given")}, set()),
        ({("step", "start_preparation", "preparing"), ("column", "questions")}, set()),
        # The kallelse meets its deadline with a bulk UPDATE no flush shows: the step's trigger says so.
        ({("step", "send_kallelse", "invited"), MEETING_ROW}, {DEADLINES, MEETINGS}),
        # A new follow-up day (written by the claim or the ORM) moves the deadlines counted from it.
        ({("column", "follow_up_on")}, {DEADLINES}),
        ({DEADLINE_ROW}, {DEADLINES}),
        ({MEETING_ROW}, {MEETINGS}),
        # Who hears of deadlines and declared reminders; a meeting's reminders follow its invitations.
        ({PARTICIPANT_ROW}, {DEADLINES, DECLARED}),
        ({CASE_NEW}, {DEADLINES, DECLARED}),
    ],
)
def test_a_change_reconciles_only_the_reminders_it_can_move(sip, changes, families):
    case = SipCase(state="preparing", workflow_name="sip", workflow_version=sip.version)
    assert affected_families(sip, case, changes) == families


def test_an_ended_case_reconciles_every_family_whatever_changed(sip):
    final = next(name for name in sip.states if sip.is_final(name))
    case = SipCase(state=final, workflow_name="sip", workflow_version=sip.version)
    assert affected_families(sip, case, {("step", "close", final)}) == ALL_FAMILIES


def _fire_until(db_session, registry, parties, case, stop: str) -> None:
    """Fire the sip happy path up to (not including) stop, a minute apart."""
    path = support.SIP_HAPPY_PATH[: support.SIP_HAPPY_PATH.index(stop)]
    for step, trigger in enumerate(path, start=1):
        at = support.FIXED_NOW + timedelta(minutes=step)
        support.fire(db_session, registry, parties.region_user, case, trigger, now=at)


def _fire_counting(db_session, registry, parties, case, trigger, engine, at):
    form = registry.get(case.workflow_name, case.workflow_version).transition(case.state, trigger).form
    data = scripted_input(db_session, case, form, at)
    with support.statements(engine) as seen:
        support.fire(db_session, registry, parties.region_user, case, trigger, now=at, data=data)
    return seen


def test_giving_consent_reads_and_writes_no_reminder(engine, db_session, registry, parties, create_case):
    case = create_case("sip")
    before = reminders(engine)
    seen = _fire_counting(
        db_session, registry, parties, case, "give_consent", engine, support.FIXED_NOW + timedelta(minutes=1)
    )
    assert [s for s in seen if "reminder" in s.lower()] == []
    # The kallelse deadline's reminders written at the start are still there, untouched.
    assert [(r.id, r.status, r.due_at) for r in reminders(engine)] == [
        (r.id, r.status, r.due_at) for r in before
    ]
    assert before


def test_a_held_meeting_recorded_afterwards_leaves_the_meeting_reminders_alone(
    engine, db_session, registry, parties, create_case
):
    """follow_up records a meeting that is held already: no planned meeting is read for its reminders."""
    case = create_case("sip")
    walk(
        db_session,
        registry,
        parties.region_user,
        case,
        support.SIP_HAPPY_PATH[: support.SIP_HAPPY_PATH.index("follow_up")],
    )
    seen = _fire_counting(
        db_session, registry, parties, case, "follow_up", engine, support.FIXED_NOW + timedelta(hours=1)
    )
    held = db_session.exec(
        select(Meeting).where(Meeting.case_id == case.id, Meeting.kind == "follow_up")
    ).one()
    assert held.status == "held"
    # (The outcome form reads the case's meetings itself; the reconciliation would ask for planned ones.)
    whole_rows = "SELECT meeting.id, meeting.case_id"
    planned_reads = [s for s in seen if s.lstrip().startswith(whole_rows) and "meeting.status =" in s]
    assert planned_reads == []
    # The follow-up deadline was met: its pending reminders are cancelled.
    assert not [r for r in reminders(engine, status="pending") if r.topic == "follow_up"]


def test_a_participant_written_after_the_step_read_them_is_seen_by_the_reminders(
    engine, db_session, registry, parties, create_case
):
    """The step's participants are shared with the reconciliation unless one is written after the read."""
    case = create_case("sip")
    # scripted_input gives huvudansvar to the region in this same transaction (a participant written).
    establish_with(db_session, registry, parties.region_user, case)
    escalated = [r for r in reminders(engine, status="pending") if r.kind == "deadline_escalated"]
    # Escalations go to huvudansvar's contact and unit: the role the same transaction gave.
    assert {r.recipient_unit_id for r in escalated} - {None} == {parties.region.id}
