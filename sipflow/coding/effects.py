"""The coding area's effect: the codes of a meeting, written in the transaction that records it as held."""

from __future__ import annotations

from sipflow.cases.services import step_participants
from sipflow.coding.services import follow_meeting_kind, record_meeting_codes
from sipflow.meetings.models import Meeting
from sipflow.meetings.outcome import HELD_MEETING, REKINDED_MEETINGS
from sipflow.workflow.context import TransitionContext
from sipflow.workflow.registry import register_effect


def record_codes(ctx: TransitionContext) -> None:
    """Code the meeting mark_meeting_held just recorded (named after it in the workflow files), and correct
    the codes of a meeting held before whose kind it changed (first meeting or follow-up)."""
    for earlier in ctx.memo.get(REKINDED_MEETINGS, ()):
        follow_meeting_kind(ctx.session, earlier, actor=ctx.actor, now=ctx.now)
    meeting = ctx.memo.get(HELD_MEETING)
    if meeting is None and ctx.details.get("meeting_id") is not None:
        meeting = ctx.session.get(Meeting, ctx.details["meeting_id"])
    if meeting is None:
        return
    records = record_meeting_codes(
        ctx.session,
        ctx.case,
        meeting,
        ctx.data.get("attendance") or {},
        step_participants(ctx),
        actor=ctx.actor,
        now=ctx.now,
    )
    if records:
        ctx.details["codes"] = sorted({record.code for record in records})


register_effect("record_codes", record_codes, after=("mark_meeting_held",))
