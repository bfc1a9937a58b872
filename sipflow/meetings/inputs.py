"""The meetings area's transition form inputs (kallelse, meeting outcome), registered with the workflow core.

The views turn form fields into typed values; these handlers check the business rules again, so the
service layer refuses bad input whoever calls it (view, API, CLI or benchmark).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlmodel import Session, select

from sipflow.cases import fields
from sipflow.cases.models import Participant
from sipflow.cases.services import same_text, step_participants, step_seeing
from sipflow.clock import stored_utc, to_local
from sipflow.errors import InvalidInput, Refusals
from sipflow.lengths import fits, too_long
from sipflow.meetings.booking import Booking, read_booking, read_times
from sipflow.meetings.models import (
    ABSENT,
    ATTENDANCE_MODES,
    CARER_SUPPORT_ANSWERS,
    HELD,
    MEETING_MODES,
    Attendance,
    Invitation,
    Meeting,
)
from sipflow.meetings.outcome import (
    ATTENDANCE_FIELD,
    CARER_KIND,
    Owner,
    owners_of,
    planned_meetings,
    refuse_withdrawn_attendance,
    step_meetings,
)
from sipflow.meetings.place import refuse_identifying_place
from sipflow.meetings.services import closed_refusal
from sipflow.security import access
from sipflow.translated import lazy_gettext as _l
from sipflow.workflow.context import TransitionContext
from sipflow.workflow.definition import START_DATES
from sipflow.workflow.registry import register_input

# The kallelse channel of invitations sent by sipflow itself; any other is the name of another system.
SIPFLOW_CHANNEL = "sipflow"
# The longest decision and "no change" reason the meeting tables hold.
DECISION_MAX = NO_CHANGE_MAX = 1000


def _decisions(
    ctx: TransitionContext,
    owners: dict[str, Owner],
    held_on: date | None,
    attended: list[tuple[str, int | None]] = (),
) -> list[dict]:
    """The meeting's decisions, each with text, owner and due date (not before held_on, the meeting's day,
    when it is known); blank rows are dropped.

    A row filled in part is refused at each field that is missing or wrong (``decisions-<row>-<field>``),
    every row's at once, so the page shows each refusal at its row; a malformed list is refused as a whole.
    An owner whose organisation the consent in force does not cover is refused at its row: it cannot see
    the SIP, nor the effort the decision becomes in the plan. attended: (attendance field, organisation id)
    of each participant recorded as taking part, refused with the owners, all at once, when the consent does
    not cover the organisation.
    """
    raw = ctx.data.get("decisions") or []
    if not isinstance(raw, list) or not all(isinstance(d, dict) for d in raw):
        raise InvalidInput(_l("Decisions could not be read."), field="decisions")
    for row in raw:
        text, owner, due_on = row.get("text"), row.get("owner"), row.get("due_on")
        if not (isinstance(text, str) or text is None) or not (isinstance(owner, str) or owner is None):
            raise InvalidInput(_l("Decisions could not be read."), field="decisions")
        if due_on is not None and (not isinstance(due_on, date) or isinstance(due_on, datetime)):
            raise InvalidInput(_l("Enter a date."), field="decisions")
    refusals = Refusals()
    decisions, organisations = [], []
    for number, row in enumerate(raw):
        decision = refusals.take(_decision, row, f"decisions-{number}-", owners, held_on)
        if decision is not None:
            decisions.append(decision)
            organisations.append((f"decisions-{number}-owner", owners[decision["owner"]].organisation_id))
    refusals.take(
        access.refuse_uncovered,
        ctx.session,
        ctx.case,
        [*attended, *organisations],
        now=ctx.now,
        seeing=step_seeing(ctx),
    )
    refusals.raise_any()
    return decisions


def _decision(row: dict, name: str, owners: dict[str, Owner], held_on: date | None) -> dict | None:
    """One decision row checked (None: a blank row), each of its fields' refusals at once (InvalidInputs)."""
    refusals = Refusals()
    text = refusals.take(fields.free_text, row.get("text"), name + "text") or ""
    owner = (row.get("owner") or "").strip()
    due_on = row.get("due_on")
    if not (text or owner or due_on or refusals.errors):
        return None
    if not text and not refusals.errors:
        refusals.refuse(_l("Write the decision or action."), name + "text")
    if not fits(text, DECISION_MAX):
        refusals.refuse(too_long(DECISION_MAX), name + "text")
    if not owner:
        refusals.refuse(_l("Choose who carries it out."), name + "owner")
    elif owner not in owners:
        refusals.refuse(_l("Choose one of the SIP's participants."), name + "owner")
    if due_on is None:
        refusals.refuse(_l("Enter by when."), name + "due_on")
    else:
        in_window = refusals.take(fields.check_window, due_on, name + "due_on", default=False) is None
        if in_window and held_on is not None and due_on < held_on:
            refusals.refuse(_l("A decision cannot be due before the meeting that took it."), name + "due_on")
    refusals.raise_any()
    return {"text": text, "owner": owner, "due_on": due_on.isoformat()}


def _attended(participants: list[Participant], attendance: dict[int, str]) -> list[tuple[str, int | None]]:
    """(attendance field, organisation id) of each participant recorded as taking part in the meeting (not
    absent): an organisation the consent does not cover heard nothing of the SIP, so it did not attend."""
    by_id = {p.id: p for p in participants}
    return [
        (f"{ATTENDANCE_FIELD}{participant_id}", by_id[participant_id].organisation_id)
        for participant_id, mode in attendance.items()
        if mode != ABSENT
    ]


def _by_participant(ctx: TransitionContext, name: str, allowed: tuple[str, ...]) -> dict[int, str]:
    """A mapping participant id -> one of allowed (attendance, carer support), read from data[name]."""
    raw = ctx.data.get(name) or {}
    if not isinstance(raw, dict):
        raise InvalidInput(_l("Attendance could not be read."), field=name)
    answers = {}
    for key, value in raw.items():
        if isinstance(key, bool):
            raise InvalidInput(_l("Attendance could not be read."), field=name)
        try:
            participant_id = int(key)
        except (TypeError, ValueError):
            raise InvalidInput(_l("Attendance could not be read."), field=name) from None
        if value not in allowed:
            raise InvalidInput(_l("Choose one of the options."), field=name)
        answers[participant_id] = value
    return answers


def _held_meeting(ctx: TransitionContext) -> Meeting | None:
    """The booked meeting the outcome is for: the one named, else the case's first still planned."""
    meeting_id = ctx.data.get("meeting_id")
    # The case's meetings, read once for the step (the outcome's effects and checks share them).
    meetings = step_meetings(ctx)
    if meeting_id is None:
        planned = planned_meetings(meetings)
        return planned[0] if planned else None
    if not isinstance(meeting_id, int) or isinstance(meeting_id, bool):
        raise InvalidInput(_l("Choose one of the meetings booked for this SIP."), field="meeting_id")
    meeting = next((m for m in meetings if m.id == meeting_id), None)
    if meeting is None:
        raise InvalidInput(_l("Choose one of the meetings booked for this SIP."), field="meeting_id")
    # Cancelled or held since the form was read: said which (a conflict, not a field to correct).
    if (closed := closed_refusal(meeting)) is not None:
        raise closed
    return meeting


def _held_at(ctx: TransitionContext, meeting: Meeting | None, moved: bool) -> datetime:
    """When the meeting was held: not ahead, not before the SIP started nor before its last meeting held,
    on the booked day unless moved."""
    held_at = fields.moment(ctx.data, "held_at", _l("Enter when the meeting was held."))
    if held_at > ctx.now:
        raise InvalidInput(_l("A meeting cannot be held in the future."), field="held_at")
    if fields.before_minute_of(held_at, ctx.case.requested_at):
        raise InvalidInput(_l("A meeting cannot be held before the SIP was started."), field="held_at")
    last_held = max((m.held_at for m in step_meetings(ctx) if m.status == HELD and m.held_at), default=None)
    if last_held is not None and held_at < last_held:
        # A follow-up comes after what it follows up: held earlier, it would take the first meeting's place.
        raise InvalidInput(
            _l(
                "The SIP's last meeting was held %(when)s: a later one cannot have been held before it.",
                when=to_local(last_held).strftime("%Y-%m-%d %H:%M"),
            ),
            field="held_at",
        )
    if meeting is not None and not moved:
        booked = to_local(meeting.starts_at).date()
        if to_local(held_at).date() != booked:
            raise InvalidInput(
                _l(
                    "The meeting was booked for %(day)s. Enter a time that day, or tick "
                    "“The meeting was moved” and enter when it was held.",
                    day=booked.isoformat(),
                ),
                field="held_at",
            )
    return held_at


def apply_kallelse(ctx: TransitionContext) -> None:
    """Check the kallelse: sent by sipflow (a booking with invitees) or recorded from another system."""
    if ctx.data.get("send_invitations"):
        participants = step_participants(ctx)
        ctx.data["booking"] = read_booking(
            ctx.session, ctx.case, ctx.data, now=ctx.now, participants=participants, seeing=step_seeing(ctx)
        )
        ctx.details.update({"sent_at": ctx.now.isoformat(), "channel": SIPFLOW_CHANNEL})
        return
    refusals = Refusals()
    sent_at = refusals.take(_sent_at, ctx)
    channel = refusals.take(
        fields.require_text,
        ctx.data,
        "channel",
        _l("State the system the notice of meeting was sent through."),
    )
    if channel is not None and channel.casefold() == SIPFLOW_CHANNEL:
        refusals.refuse(
            _l(
                "To send the notice of meeting from sipflow, use “Book the meeting and send the notice of "
                "meeting”."
            ),
            "channel",
        )
    if ctx.data.get("meeting_starts_at") is not None:
        times = refusals.take(read_times, ctx.data, now=ctx.now)
        mode = refusals.take(fields.choice, ctx.data, "mode", MEETING_MODES)
        # Recorded for the record only: the other system holds the details, so the place is optional. It
        # still goes into the booker's calendar feed: it may not identify the person either.
        location = refusals.take(fields.line, ctx.data, "location")
        refusals.take(refuse_identifying_place, ctx.session, ctx.case, (("location", location),), now=ctx.now)
        if times is not None and mode is not None:
            ctx.data["booking"] = Booking(*times, mode, location, None)
    refusals.raise_any()
    ctx.details.update({"sent_at": sent_at.isoformat(), "channel": channel})
    ctx.done_at = sent_at


def _same_moment(typed, stored) -> bool:
    return typed is None or (stored is not None and typed == stored_utc(stored))


def kallelse_repeated(session: Session, case, step, data: dict) -> bool:
    """The kallelse form (the case page's, or the booking page's with its invitees) sent again is what step
    recorded: its channel and time sent, the meeting it booked as the meeting holds it, and whom it invited
    (as a set: the order of the ticks says nothing). A form that books no meeting matches a step that
    booked none."""
    details = step.details
    if data.get("channel") is not None and not same_text(data["channel"], details.get("channel")):
        return False
    if data.get("sent_at") is not None and data["sent_at"].isoformat() != details.get("sent_at"):
        return False
    meeting_id = details.get("meeting_id")
    meeting = session.get(Meeting, meeting_id) if isinstance(meeting_id, int) else None
    if meeting is None or meeting.case_id != case.id:
        return data.get("meeting_starts_at") is None
    starts_at, ends_at = stored_utc(meeting.starts_at), stored_utc(meeting.ends_at)
    minutes = data.get("meeting_minutes")
    invited = session.exec(
        select(Invitation.participant_id).where(
            Invitation.meeting_id == meeting.id, Invitation.removed_at.is_(None)
        )
    ).all()
    try:
        invitees = fields.ids(data, "invitee_ids")
    except InvalidInput:
        return False
    return (
        data.get("meeting_starts_at") == starts_at
        and _same_moment(data.get("meeting_ends_at"), ends_at)
        and (minutes is None or starts_at + timedelta(minutes=minutes) == ends_at)
        and data.get("mode") in (None, meeting.mode)
        and same_text(data.get("location"), meeting.location)
        and ("room" not in data or same_text(data["room"], meeting.room))
        and ("invitee_ids" not in data or invitees == set(invited))
    )


def _sent_at(ctx: TransitionContext) -> datetime:
    """When a kallelse recorded from another system was sent (now, if not said): not ahead, and not before
    the minute the SIP was started in (the form gives the time to the minute), or, when the case has a
    start date (START_DATES: the moment the patient was reported utskrivningsklar, which the kallelse
    counts from), not before that one: it may have been sent from another system before the SIP was
    entered here."""
    sent_at = fields.moment(ctx.data, "sent_at") or ctx.now
    if sent_at > ctx.now:
        raise InvalidInput(_l("A notice of meeting cannot be sent in the future."), field="sent_at")
    requested = stored_utc(ctx.case.requested_at)
    dates = (getattr(ctx.case, name, None) for name in START_DATES)
    earliest = min((stored_utc(d) for d in dates if d is not None), default=requested)
    if earliest < requested:
        if fields.before_minute_of(sent_at, earliest):
            raise InvalidInput(
                _l(
                    "A notice of meeting cannot have been sent before the patient was reported ready for "
                    "discharge."
                ),
                field="sent_at",
            )
    elif fields.before_minute_of(sent_at, requested):
        raise InvalidInput(
            _l("A notice of meeting cannot be sent before the SIP was started."), field="sent_at"
        )
    return sent_at


def _attendance(ctx: TransitionContext, participants, meeting: Meeting | None) -> dict[int, str]:
    """Who attended how, each a participant, none withdrawn from the meeting."""
    attendance = _by_participant(ctx, "attendance", ATTENDANCE_MODES)
    if not set(attendance) <= {p.id for p in participants}:
        raise InvalidInput(_l("Attendance names someone who is not a participant."), field="attendance")
    refuse_withdrawn_attendance(ctx.session, meeting, attendance)
    return attendance


def _carer_support(ctx: TransitionContext, participants, attendance: dict[int, str] | None) -> dict[int, str]:
    """The närstående's answers about their own support: each taking part, and attending (when attendance
    was read; None: refused)."""
    carer_support = _by_participant(ctx, "carer_support", CARER_SUPPORT_ANSWERS)
    if not set(carer_support) <= {p.id for p in participants if p.kind == CARER_KIND}:
        raise InvalidInput(
            _l("Only a relative taking part is asked about their own support."), field="carer_support"
        )
    if attendance is not None and not set(carer_support) <= set(attendance):
        raise InvalidInput(_l("Record how the relative attended too."), field="carer_support")
    return carer_support


def apply_meeting_outcome(ctx: TransitionContext) -> None:
    """Check a held meeting's outcome and leave it, typed, for the effects that record it; every field at
    fault is refused at once (InvalidInputs), each at its field. Writes nothing itself (its effects do).

    data: meeting_id (None: the first planned meeting), held_at, moved, mode (optional), attendance
    {participant id: mode}, carer_support {närstående participant id: answer}, decisions [{text, owner
    (``organisation:ID``, ``unit:ID`` or ``participant:ID``), due_on}], no_change_reason.
    """
    refusals = Refusals()
    meeting = refusals.take(_held_meeting, ctx)
    moved = ctx.data.get("moved") or False
    if not isinstance(moved, bool):
        refusals.refuse(_l("Choose one of the options."), "moved")
        moved = False
    held_at = refusals.take(_held_at, ctx, meeting, moved)
    if ctx.data.get("mode") is not None:
        refusals.take(fields.choice, ctx.data, "mode", MEETING_MODES)
    participants = step_participants(ctx)
    attendance = refusals.take(_attendance, ctx, participants, meeting)
    carer_support = refusals.take(_carer_support, ctx, participants, attendance)
    held_on = to_local(held_at).date() if held_at is not None else None
    attended = _attended(participants, attendance) if attendance is not None else []
    decisions = refusals.take(_decisions, ctx, owners_of(participants), held_on, attended, default=[])
    no_change = refusals.take(fields.text, ctx.data, "no_change_reason", limit=NO_CHANGE_MAX)
    if no_change and decisions:
        refusals.refuse(_l("Either decisions or “no change” with a reason, not both."), "no_change_reason")
    refusals.raise_any()
    ctx.data.update(
        {
            "meeting": meeting,
            "held_at": held_at,
            "moved": moved and meeting is not None,
            "attendance": attendance,
            "carer_support": carer_support,
            "no_change_reason": no_change,
        }
    )
    ctx.details["decisions"] = decisions
    if no_change:
        ctx.details["no_change_reason"] = no_change
    # A deadline the step meets (the follow-up) is met when the meeting was held, not when it was recorded:
    # a follow-up held on its day and written down after the weekend was held by its date.
    ctx.done_at = held_at


def outcome_repeated(session: Session, case, step, data: dict) -> bool:
    """The outcome form sent again is what step recorded: the meeting held, when and whether moved, the
    attendance and carer support as its rows hold them (by participant: the order says nothing), the
    decisions in their order (blank rows, which the step dropped, left out) and why nothing changes."""
    meeting_id = step.details.get("meeting_id")
    meeting = session.get(Meeting, meeting_id) if isinstance(meeting_id, int) else None
    if meeting is None or meeting.case_id != case.id or meeting.held_at is None:
        return False
    rows = session.exec(select(Attendance).where(Attendance.meeting_id == meeting.id)).all()
    typed = [
        row
        for row in data.get("decisions") or []
        if isinstance(row, dict) and (_stripped(row.get("text")) or row.get("owner") or row.get("due_on"))
    ]
    recorded = step.details.get("decisions") or []
    return (
        data.get("meeting_id") in (None, meeting.id)
        and data.get("held_at") == stored_utc(meeting.held_at)
        and (data.get("meeting_id") is None or bool(data.get("moved")) == meeting.moved)
        and (data.get("attendance") or {}) == {row.participant_id: row.mode for row in rows}
        and (data.get("carer_support") or {})
        == {row.participant_id: row.carer_support for row in rows if row.carer_support}
        and len(typed) == len(recorded)
        and all(
            same_text(row.get("text"), decision["text"])
            and row.get("owner") == decision["owner"]
            and isinstance(row.get("due_on"), date)
            and row["due_on"].isoformat() == decision["due_on"]
            for row, decision in zip(typed, recorded, strict=True)
        )
        and same_text(data.get("no_change_reason"), meeting.no_change_reason)
    )


def _stripped(text) -> str:
    return text.strip() if isinstance(text, str) else ""


# Each only checks and leaves what it read in the step's context for the effects that record it: on a
# context of its own it writes nothing, so it is its own check too (a page whose own form checks refused
# the form asks it as well, cases.services.step_input_refusal, and marks every field at once).
register_input("kallelse", apply_kallelse, check=apply_kallelse, repeats=kallelse_repeated)
register_input(
    "meeting_outcome", apply_meeting_outcome, check=apply_meeting_outcome, repeats=outcome_repeated
)
