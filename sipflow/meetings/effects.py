"""The meetings area's effects, registered with the workflow core.

Effects only write rows (meetings, outbox rows for invitations); they never send anything themselves, so
a rolled-back transition leaves no trace anywhere.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import Date, Integer, String, bindparam, column, func, insert, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel import Session

from sipflow.cases.services import register_address_change, register_participant_removal, step_participants
from sipflow.consent.services import register_coverage_withdrawal
from sipflow.db import adopt_inserted
from sipflow.meetings.models import HELD, Attendance, Meeting, MeetingDecision
from sipflow.meetings.outcome import (
    BOOKING_EFFECT,
    HELD_MEETING,
    MODE_OF_CLASSIFICATION,
    RECORDED_DECISIONS,
    REKINDED_MEETINGS,
    classify,
    owners_of,
    step_meetings,
)
from sipflow.meetings.services import (
    book_meeting,
    cancel_planned_meetings,
    clear_unbooked,
    follow_address,
    kind_when_held,
    mark_unbooked,
    move_to_held_time,
    settle_meeting_kinds,
    withdraw_invitations_of,
    withdraw_uncovered,
)
from sipflow.workflow.context import TransitionContext
from sipflow.workflow.registry import register_effect


def plan_meeting(ctx: TransitionContext) -> None:
    """Book the meeting the kallelse announces; sent by sipflow, its invitations are queued too."""
    booking = ctx.data.get("booking")
    if booking is None:
        # Recorded from another system without a meeting: Att göra lists the SIP until one is booked.
        mark_unbooked(ctx.session, ctx.case, now=ctx.now)
        return
    meetings = step_meetings(ctx)
    meeting = book_meeting(
        ctx.session,
        ctx.case,
        ctx.actor,
        booking,
        now=ctx.now,
        send=bool(ctx.data.get("send_invitations")),
        participants={p.id: p for p in step_participants(ctx)},
        meetings=meetings,
    )
    # Every meeting of the case still, for the reminders' reconciliation (the new one is the step's own).
    meetings.append(meeting)
    ctx.details["meeting_id"] = meeting.id


def cancel_meetings(ctx: TransitionContext) -> None:
    """Cancel the planned meetings of a SIP that ends: every invitee's calendar entry is cancelled."""
    count = cancel_planned_meetings(ctx.session, ctx.case, now=ctx.now)
    # The SIP ends: it no longer waits for a meeting either.
    clear_unbooked(ctx.session, ctx.case)
    if count:
        ctx.details["meetings_cancelled"] = count


def mark_meeting_held(ctx: TransitionContext) -> None:
    """Record the meeting as held: attendance, classification, the decisions or why nothing changes.

    The meeting_outcome input checked everything; the booked meeting it chose is marked held, or, when
    the kallelse went through another system without a booking, a meeting is recorded at the held time.
    """
    held_at = ctx.data["held_at"]
    meeting = ctx.data.get("meeting")
    clear_unbooked(ctx.session, ctx.case)
    attendance: dict[int, str] = ctx.data.get("attendance", {})
    classification = classify(attendance.values())
    typed_mode = ctx.data.get("mode")
    held = {
        "status": HELD,
        "held_at": held_at,
        "moved": bool(ctx.data.get("moved")),
        "classification": classification,
        "no_change_reason": ctx.data.get("no_change_reason"),
    }
    # The case's meetings as the outcome input read them (none is written in between).
    meetings = step_meetings(ctx)
    if meeting is None:
        meeting = Meeting(
            case_id=ctx.case.id,
            mode=typed_mode or MODE_OF_CLASSIFICATION.get(classification, "on_site"),
            starts_at=held_at,
            ends_at=held_at + timedelta(hours=1),
            updated_at=ctx.now,
            **held,
        )
        ctx.session.add(meeting)
    else:
        held["mode"] = typed_mode or MODE_OF_CLASSIFICATION.get(classification, meeting.mode)
        # First or follow-up as held, written by the claim with the rest (settled below as for a new one).
        held["kind"] = kind_when_held(meeting, held_at, meetings)
        booked = meeting.starts_at
        # The meeting claimed as the step read it, its held columns written by the same UPDATE.
        if move_to_held_time(ctx.session, ctx.case, meeting, held_at, now=ctx.now, held=held):
            # The booked time, for the record: the meeting itself now has the time it was held.
            ctx.details["booked_starts_at"] = booked.isoformat()
    # First or follow-up, as held: the one booked first perhaps held second.
    ctx.memo[REKINDED_MEETINGS] = settle_meeting_kinds(ctx.session, meeting, meetings)
    if meeting.id is None:
        ctx.session.flush()  # its id, for the attendance and the decisions
    carer_support = ctx.data.get("carer_support", {})
    # Plain rows: nothing in the step reads them back (the ORM's unit of work for a row per participant
    # cost more Python than the statement).
    attended = [
        {
            "meeting_id": meeting.id,
            "participant_id": participant_id,
            "mode": mode,
            "carer_support": carer_support.get(participant_id),
        }
        for participant_id, mode in attendance.items()
    ]
    owners = owners_of(step_participants(ctx))
    decisions = []
    for position, decision in enumerate(ctx.details.get("decisions", [])):
        owner = owners[decision["owner"]]
        decisions.append(
            MeetingDecision(
                meeting_id=meeting.id,
                text=decision["text"],
                organisation_id=owner.organisation_id,
                unit_id=owner.unit_id,
                participant_id=owner.participant_id,
                due_on=date.fromisoformat(decision["due_on"]),
                position=position,
            )
        )
    if decisions and ctx.session.get_bind().dialect.name == "postgresql":
        # The attendance rides in the decisions' INSERT as a WITH: one round trip fewer.
        _insert_attendance_and_decisions(ctx.session, meeting, attended, decisions)
    else:
        if attended:
            ctx.session.execute(insert(Attendance.__table__), attended)
        ctx.session.add_all(decisions)
    # Written now with the meeting's new state, in one unit of work: the effects after this one
    # (carry_decisions_into_plan) read them.
    ctx.session.flush()
    ctx.details["meeting_id"] = meeting.id
    ctx.memo[RECORDED_DECISIONS] = decisions
    ctx.memo[HELD_MEETING] = meeting
    if classification is not None:
        ctx.details["classification"] = classification


def _insert_attendance_and_decisions(
    session: Session, meeting: Meeting, attended: list[dict], decisions: list[MeetingDecision]
) -> None:
    """INSERT a held meeting's attendance and its decisions in one statement (PostgreSQL: a data-modifying
    WITH, one round trip fewer than two INSERTs). The decisions join the session as their rows, as if read:
    the effects after this one (carry_decisions_into_plan) take them with their ids."""
    params = {
        "meeting_id": meeting.id,
        "attended_participant_ids": [row["participant_id"] for row in attended],
        "attended_modes": [row["mode"] for row in attended],
        "attended_carer_support": [row["carer_support"] for row in attended],
        **{f"decision_{name}s": [getattr(d, name) for d in decisions] for name, _ in _DECISION_COLUMNS},
    }
    rows = session.connection().execute(_ATTENDANCE_AND_DECISIONS, params)
    ids = {position: decision_id for decision_id, position in rows}
    for decision in decisions:
        adopt_inserted(session, decision, ids[decision.position])


# A decision's columns but its id and meeting, each an array of the statement's.
_DECISION_COLUMNS = (
    ("text", String),
    ("organisation_id", Integer),
    ("unit_id", Integer),
    ("participant_id", Integer),
    ("due_on", Date),
    ("position", Integer),
)


def _attendance_and_decisions_statement():
    """WITH attended AS (INSERT attendance SELECT its arrays) INSERT meetingdecision SELECT its arrays."""
    meeting_id = bindparam("meeting_id", type_=Integer)
    attendance = (
        func.unnest(
            bindparam("attended_participant_ids", type_=ARRAY(Integer)),
            bindparam("attended_modes", type_=ARRAY(String)),
            bindparam("attended_carer_support", type_=ARRAY(String)),
        )
        .table_valued(
            column("participant_id", Integer), column("mode", String), column("carer_support", String)
        )
        .render_derived()
        .alias("attended")
    )
    attended = insert(Attendance.__table__).from_select(
        ["meeting_id", "participant_id", "mode", "carer_support"],
        select(meeting_id, attendance.c.participant_id, attendance.c.mode, attendance.c.carer_support),
    )
    decided = (
        func.unnest(*(bindparam(f"decision_{name}s", type_=ARRAY(kind)) for name, kind in _DECISION_COLUMNS))
        .table_valued(*(column(name, kind) for name, kind in _DECISION_COLUMNS))
        .render_derived()
        .alias("decided")
    )
    table = MeetingDecision.__table__
    return (
        insert(table)
        .from_select(
            ["meeting_id", *(name for name, _ in _DECISION_COLUMNS)],
            select(meeting_id, *(decided.c[name] for name, _ in _DECISION_COLUMNS)).order_by(
                decided.c.position
            ),
        )
        .returning(table.c.id, table.c.position)
        .add_cte(attended.cte("attended_rows"))
    )


# Built once (PostgreSQL's arrays: any number of rows of each).
_ATTENDANCE_AND_DECISIONS = _attendance_and_decisions_statement()


# Each records what its form's input only checked (the kallelse's meeting, the meeting's outcome).
register_effect(BOOKING_EFFECT, plan_meeting, records=("kallelse",))
register_effect("mark_meeting_held", mark_meeting_held, records=("meeting_outcome",))
register_effect("cancel_meetings", cancel_meetings)
# A participant taken off a SIP is no longer invited to its planned meetings (cases calls this; it never
# imports meetings).
register_participant_removal(withdraw_invitations_of)
# A participant's corrected or cleared address is the one their invitations to meetings ahead go to.
register_address_change(follow_address)
# Consent withdrawn for one organisation: its invitations to meetings ahead are withdrawn at once, as the
# nightly coverage job withdraws them when a consent runs out (consent calls this; it never imports meetings).
register_coverage_withdrawal(withdraw_uncovered)
