"""The reconciliation's shortcuts: what it does not read must not change what it writes.

Each test checks the rows the shortcut left against a full reconciliation (every family, everything read
again), and the edge where the shortcut must not apply.
"""

from __future__ import annotations

from datetime import timedelta

import support
from meetingkit import next_week_at
from remkit import UNTIL_PLAN, establish_with, reminders, walk
from sqlmodel import select

from sipflow.cases import services
from sipflow.cases.models import Deadline, Participant
from sipflow.cases.scripted import scripted_input
from sipflow.db import unit_of_work
from sipflow.meetings import services as meetings
from sipflow.meetings.booking import Booking
from sipflow.reminders.models import (
    CANCELLED,
    DEADLINE_DUE,
    DEADLINE_ESCALATED,
    EFFORT_OVERDUE,
    INVITATION_UNANSWERED,
    MEETING_TOMORROW,
    PENDING,
    Reminder,
)
from sipflow.reminders.services import reconcile_case

COLUMNS = ("id", "kind", "dedupe_key", "deadline_id", "meeting_id", "recipient_user_id", "recipient_unit_id")


def _rows(engine) -> list[tuple]:
    return [tuple(getattr(r, c) for c in (*COLUMNS, "due_at", "status")) for r in reminders(engine)]


def assert_in_line(engine, db_session, registry, case) -> None:
    """A full reconciliation of the case (nothing given, every family) would change none of its rows."""
    before = _rows(engine)
    workflow = registry.get(case.workflow_name, case.workflow_version)
    with unit_of_work(db_session):
        reconcile_case(db_session, workflow, case, now=support.FIXED_NOW)
    assert _rows(engine) == before


def _start(db_session, registry, parties, make_person, now):
    units = [parties.municipality.id, parties.school.id]
    return support.new_case(
        db_session,
        registry,
        parties.region_user,
        workflow="sip",
        person=make_person(),
        unit_ids=units,
        now=now,
    )


def test_a_new_case_reads_none_of_its_rows_back(engine, db_session, registry, parties, make_person, now):
    """Its participants are those create_case wrote, its deadlines those it inserted; it has no reminders."""
    with support.statements(engine) as seen:
        with unit_of_work(db_session):
            case = _start(db_session, registry, parties, make_person, now)
    reads = [s for s in seen if s.lstrip().upper().startswith("SELECT")]
    assert not [s for s in reads if any(t in s.lower() for t in ("reminder", "deadline", "participant"))]
    # Its reminders go in with one INSERT, and nothing else of the reconciliation reaches the database.
    assert [s.split()[2] for s in seen if "reminder" in s.lower()] == ["reminder"]
    assert {r.kind for r in reminders(engine, case_id=case.id)} == {
        "deadline_soon",
        "deadline_due",
        "deadline_missed",
    }
    assert_in_line(engine, db_session, registry, case)


def test_a_participant_changed_after_the_start_in_its_transaction_is_seen(
    engine, db_session, registry, parties, make_person, now
):
    """The participants create_case hands over are stale once one is written: they are read again."""
    with unit_of_work(db_session):
        case = _start(db_session, registry, parties, make_person, now)
        municipality = db_session.exec(
            select(Participant).where(
                Participant.case_id == case.id, Participant.unit_id == parties.municipality.id
            )
        ).one()
        municipality.role = "huvudansvarig"
        db_session.add(municipality)
    escalated = [r for r in reminders(engine, case_id=case.id) if r.kind == DEADLINE_ESCALATED]
    assert [r.recipient_unit_id for r in escalated] == [parties.municipality.id]
    assert_in_line(engine, db_session, registry, case)


def test_a_case_created_and_stepped_in_one_transaction(
    engine, db_session, registry, parties, make_person, now
):
    """The deadline the start inserted and the step met is the case's only one: no reminder is written."""
    with unit_of_work(db_session):
        case = _start(db_session, registry, parties, make_person, now)
        for minute, trigger in enumerate(support.SIP_HAPPY_PATH[:3], start=1):
            at = now + timedelta(minutes=minute)
            workflow = registry.get(case.workflow_name, case.workflow_version)
            data = scripted_input(db_session, case, workflow.transition(case.state, trigger).form, at)
            services.fire_transition(
                db_session,
                registry,
                parties.region_user,
                case,
                trigger,
                expected_version=case.version,
                now=at,
                data=data,
            )
    assert case.state == "invited"
    assert not [r for r in reminders(engine, case_id=case.id) if r.kind.startswith("deadline")]
    assert_in_line(engine, db_session, registry, case)


def test_a_participant_changed_after_the_step_is_seen_in_the_steps_own_list(
    engine, db_session, registry, parties, create_case
):
    """The step's participants are the session's objects: a role given after the step shows in them."""
    case = create_case("sip")

    def give_the_municipality_huvudansvar(_at):
        for p in db_session.exec(select(Participant).where(Participant.case_id == case.id)).all():
            if p.role == "huvudansvarig":
                p.role = "participant"
            if p.unit_id == parties.municipality.id:
                p.role = "huvudansvarig"
            db_session.add(p)

    establish_with(db_session, registry, parties.region_user, case, give_the_municipality_huvudansvar)
    escalated = reminders(engine, case_id=case.id, kind=DEADLINE_ESCALATED, status="pending")
    assert [r.recipient_unit_id for r in escalated] == [parties.municipality.id]
    assert_in_line(engine, db_session, registry, case)


def test_a_participant_added_after_the_step_makes_its_list_stale(
    engine, db_session, registry, parties, create_case
):
    """A participant the step did not read (a new one) is read with the others for the reminders."""
    case = create_case("sip")

    def add_the_school_as_huvudansvarig(at):
        db_session.add(
            Participant(
                case_id=case.id,
                kind="organisation",
                role="huvudansvarig",
                organisation_id=parties.school.organisation_id,
                unit_id=parties.school.id,
                added_at=at,
            )
        )

    establish_with(db_session, registry, parties.region_user, case, add_the_school_as_huvudansvarig)
    escalated = reminders(engine, case_id=case.id, kind=DEADLINE_ESCALATED, status="pending")
    assert parties.school.id in {r.recipient_unit_id for r in escalated}
    assert_in_line(engine, db_session, registry, case)


def test_an_ended_case_cancels_its_pending_reminders_without_reading_them(
    engine, db_session, registry, parties, create_case
):
    """Nothing is wanted once the case ends: one UPDATE; an effort's reminder (no family's) is left."""
    case = create_case("sip")
    walk(db_session, registry, parties.region_user, case, UNTIL_PLAN)
    with unit_of_work(db_session):
        db_session.add(
            Reminder(
                kind=EFFORT_OVERDUE,
                dedupe_key="effort_overdue:test@20261108",
                case_id=case.id,
                template=EFFORT_OVERDUE,
                recipient_address="kontakt@example.se",
                due_at=support.FIXED_NOW,
                created_at=support.FIXED_NOW,
            )
        )
    held = db_session.exec(
        select(Reminder).where(
            Reminder.case_id == case.id, Reminder.kind == DEADLINE_DUE, Reminder.status == PENDING
        )
    ).one()
    at = support.FIXED_NOW + timedelta(hours=1)
    form = registry.get(case.workflow_name, case.workflow_version).transition(case.state, "close").form
    data = scripted_input(db_session, case, form, at)
    with support.statements(engine) as seen:
        support.fire(db_session, registry, parties.region_user, case, "close", now=at, data=data)
    assert [s for s in seen if "reminder" in s.lower()] == [
        next(s for s in seen if s.lstrip().upper().startswith("UPDATE REMINDER"))
    ]
    assert [r.kind for r in reminders(engine, case_id=case.id, status=PENDING)] == [EFFORT_OVERDUE]
    # The row the session held shows it (a session kept over the commit would not read it again).
    assert held.status == CANCELLED
    assert_in_line(engine, db_session, registry, case)


def _invitation_reads(seen) -> list[str]:
    """The reconciliation's read of planned meetings' invitations (the step reads some for its own ends)."""
    return [s for s in seen if "FROM invitation WHERE invitation.meeting_id IN (" in " ".join(s.split())]


def test_a_meeting_booked_in_the_transaction_has_the_invitations_it_wrote(
    engine, db_session, registry, book, ready
):
    """Booking with invitations: the reminders of each invitation, none of them read back."""
    with support.statements(engine) as seen:
        meeting = book(invitee_ids=[ready.municipality.id, ready.relative.id])
    assert _invitation_reads(seen) == []
    # The meeting the invitations belong to is the session's: its case is known without a read.
    assert not [s for s in seen if s.lstrip().startswith("SELECT meeting.case_id")]
    tomorrow = reminders(engine, meeting_id=meeting.id, kind=MEETING_TOMORROW)
    assert len(tomorrow) == 2 and all(r.invitation_id is not None for r in tomorrow)
    assert reminders(engine, meeting_id=meeting.id, kind=INVITATION_UNANSWERED)
    assert_in_line(engine, db_session, registry, ready.case)


def test_inviting_to_an_older_meeting_reads_its_invitations(engine, db_session, registry, book, ready):
    """A meeting booked in an earlier transaction may have invitations this one did not write: read."""
    meeting = book(invitee_ids=[ready.municipality.id])
    with support.statements(engine) as seen:
        with unit_of_work(db_session):
            meetings.invite(db_session, ready.case, meeting, [ready.relative.id], now=support.FIXED_NOW)
    assert _invitation_reads(seen)
    assert len(reminders(engine, meeting_id=meeting.id, kind=MEETING_TOMORROW)) == 2
    assert_in_line(engine, db_session, registry, ready.case)


def _planned_meeting_reads(seen) -> list[str]:
    """The reconciliation's read of the case's planned meetings (whole rows, by status)."""
    whole_rows = "SELECT meeting.id, meeting.case_id"
    return [s for s in seen if s.lstrip().startswith(whole_rows) and "meeting.status =" in s]


def test_the_kallelse_steps_meetings_are_not_read_again(engine, db_session, registry, book, ready):
    """The booking step read the case's meetings and added its own: the reminders take them, unread."""
    with support.statements(engine) as seen:
        meeting = book(invitee_ids=[ready.municipality.id, ready.relative.id])
    assert _planned_meeting_reads(seen) == []
    assert len(reminders(engine, meeting_id=meeting.id, kind=MEETING_TOMORROW)) == 2
    assert reminders(engine, meeting_id=meeting.id, kind=INVITATION_UNANSWERED)
    assert_in_line(engine, db_session, registry, ready.case)


def test_a_meeting_booked_after_the_step_makes_its_meetings_stale(
    engine, db_session, registry, parties, ready
):
    """A meeting the step did not read (booked after it, same transaction) is read with the others."""
    starts_at = next_week_at(10)
    data = {
        "send_invitations": True,
        "meeting_starts_at": starts_at,
        "meeting_ends_at": starts_at + timedelta(hours=1),
        "mode": "video",
        "invitee_ids": [ready.municipality.id],
    }
    case = ready.case
    with support.statements(engine) as seen:
        with unit_of_work(db_session):
            services.fire_transition(
                db_session,
                registry,
                parties.region_user,
                case,
                "send_kallelse",
                expected_version=case.version,
                now=support.FIXED_NOW,
                data=data,
            )
            day_after = starts_at + timedelta(days=1)
            later = Booking(
                day_after, day_after + timedelta(hours=1), "video", None, None, (ready.relative.id,)
            )
            other = meetings.book_meeting(
                db_session, case, parties.region_user, later, now=support.FIXED_NOW, send=False
            )
    assert _planned_meeting_reads(seen)
    # Its invitation's reminder is there: the step's meetings alone would have left it out.
    assert len(reminders(engine, meeting_id=other.id, kind=MEETING_TOMORROW)) == 1
    assert_in_line(engine, db_session, registry, case)


def test_a_deadline_written_after_the_settling_makes_the_open_ones_stale(
    engine, db_session, registry, parties, ready
):
    """The deadlines the kallelse's UPDATE left open hold for the reminders unless one is written after it."""
    case = ready.case
    data = scripted_input(db_session, case, "kallelse", support.FIXED_NOW + timedelta(minutes=5))
    with support.statements(engine) as seen:
        with unit_of_work(db_session):
            services.fire_transition(
                db_session,
                registry,
                parties.region_user,
                case,
                "send_kallelse",
                expected_version=case.version,
                now=support.FIXED_NOW + timedelta(minutes=5),
                data=data,
            )
            db_session.add(
                Deadline(case_id=case.id, kind="follow_up", due_at=support.FIXED_NOW + timedelta(days=30))
            )
    assert support.deadline_reads(seen)
    # The new deadline's reminders are there: the UPDATE's open ones alone would have left them out.
    assert reminders(engine, case_id=case.id, kind=DEADLINE_DUE, status=PENDING)
    assert_in_line(engine, db_session, registry, case)


def test_a_deadline_of_another_kind_stays_open_through_the_settling(
    engine, db_session, registry, parties, ready
):
    """The met deadlines' UPDATE matches every open one: another kind keeps its value and its reminders."""
    case = ready.case
    with unit_of_work(db_session):
        other = Deadline(case_id=case.id, kind="follow_up", due_at=support.FIXED_NOW + timedelta(days=30))
        db_session.add(other)
    at = support.FIXED_NOW + timedelta(minutes=5)
    data = scripted_input(db_session, case, "kallelse", at)
    with support.statements(engine) as seen:
        support.fire(db_session, registry, parties.region_user, case, "send_kallelse", now=at, data=data)
    assert not support.deadline_reads(seen)
    with unit_of_work(db_session):
        row = db_session.exec(select(Deadline).where(Deadline.id == other.id)).one()
        assert (row.met_at, row.cancelled_at) == (None, None)
    assert reminders(engine, deadline_id=other.id, kind=DEADLINE_DUE, status=PENDING)
    assert_in_line(engine, db_session, registry, case)


class _Duplicate(Exception):
    """What a savepoint's INSERT meets when a concurrent request wrote the same row first."""


def _savepoint_taken_back(db_session) -> None:
    try:
        with db_session.begin_nested():
            raise _Duplicate
    except _Duplicate:
        pass


def test_a_savepoint_taken_back_keeps_the_transactions_reminders(
    engine, db_session, registry, parties, make_person, now
):
    """A savepoint rolled back after a change (a duplicate approval caught) still leaves its reminders."""
    with unit_of_work(db_session):
        case = _start(db_session, registry, parties, make_person, now)
        _savepoint_taken_back(db_session)
    # The kallelse deadline the start opened has its reminders, as without the savepoint.
    assert [r for r in reminders(engine, case_id=case.id, status=PENDING) if r.kind.startswith("deadline")]
    assert_in_line(engine, db_session, registry, case)


def test_a_savepoint_taken_back_after_a_step_keeps_its_reminders(
    engine, db_session, registry, parties, make_person, now
):
    """A savepoint rolled back after establish_plan: its follow-up reminders are written all the same."""
    case = _start(db_session, registry, parties, make_person, now)
    db_session.commit()
    establish_with(
        db_session, registry, parties.region_user, case, lambda at: _savepoint_taken_back(db_session)
    )
    follow_up = [r for r in reminders(engine, case_id=case.id, status=PENDING) if r.kind == DEADLINE_DUE]
    assert follow_up
    assert_in_line(engine, db_session, registry, case)
