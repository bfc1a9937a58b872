"""The meetings area's effects, registered with the workflow core.

Effects only write rows (meetings, outbox rows for invitations); they never send anything themselves, so
a rolled-back transition leaves no trace anywhere.
"""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from sipflow.meetings.models import HELD, PLANNED, Attendance, Meeting
from sipflow.meetings.services import book_meeting, cancel_planned_meetings, meeting_kind
from sipflow.workflow.context import TransitionContext
from sipflow.workflow.registry import register_effect


def plan_meeting(ctx: TransitionContext) -> None:
    """Book the meeting the kallelse announces; sent by sipflow, its invitations are queued too."""
    booking = ctx.data.get("booking")
    if booking is None:
        return
    meeting = book_meeting(
        ctx.session, ctx.case, ctx.actor, booking, now=ctx.now, send=bool(ctx.data.get("send_invitations"))
    )
    ctx.details["meeting_id"] = meeting.id


def cancel_meetings(ctx: TransitionContext) -> None:
    """Cancel the planned meetings of a SIP that ends: every invitee's calendar entry is cancelled."""
    count = cancel_planned_meetings(ctx.session, ctx.case, now=ctx.now)
    if count:
        ctx.details["meetings_cancelled"] = count


def mark_meeting_held(ctx: TransitionContext) -> None:
    """Record the meeting as held, with each participant's attendance mode."""
    held_at = ctx.data["held_at"]
    planned = ctx.session.exec(
        select(Meeting)
        .where(Meeting.case_id == ctx.case.id, Meeting.status == PLANNED)
        .order_by(Meeting.starts_at.desc())
    ).first()
    meeting = planned or Meeting(
        case_id=ctx.case.id,
        kind=meeting_kind(ctx.session, ctx.case),
        mode=ctx.data.get("mode") or "on_site",
        starts_at=held_at,
        ends_at=held_at + timedelta(hours=1),
    )
    meeting.status = HELD
    meeting.held_at = held_at
    meeting.mode = ctx.data.get("mode") or meeting.mode
    ctx.session.add(meeting)
    ctx.session.flush()
    for participant_id, mode in ctx.data.get("attendance", {}).items():
        ctx.session.add(Attendance(meeting_id=meeting.id, participant_id=participant_id, mode=mode))
    ctx.details["meeting_id"] = meeting.id


register_effect("plan_meeting", plan_meeting)
register_effect("mark_meeting_held", mark_meeting_held)
register_effect("cancel_meetings", cancel_meetings)
