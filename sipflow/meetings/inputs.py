"""The meetings area's transition form inputs (kallelse, meeting outcome), registered with the workflow core.

The views turn form fields into typed values; these handlers check the business rules again, so the
service layer refuses bad input whoever calls it (view, API, CLI or benchmark).
"""

from __future__ import annotations

from datetime import date, datetime

from flask_babel import lazy_gettext as _l

from sipflow.cases import fields
from sipflow.cases.services import step_participants
from sipflow.errors import InvalidInput
from sipflow.meetings.booking import Booking, read_booking, read_times
from sipflow.meetings.models import ATTENDANCE_MODES, MEETING_MODES
from sipflow.workflow.context import TransitionContext
from sipflow.workflow.registry import register_input

# The kallelse channel of invitations sent by sipflow itself; any other is the name of another system.
SIPFLOW_CHANNEL = "sipflow"


def _decisions(ctx: TransitionContext) -> list[dict]:
    """Decisions with text, owner and due date; incomplete rows are dropped, malformed ones refused."""
    raw = ctx.data.get("decisions") or []
    if not isinstance(raw, list) or not all(isinstance(d, dict) for d in raw):
        raise InvalidInput(_l("Decisions could not be read."), field="decisions")
    decisions = []
    for row in raw:
        text, owner, due_on = row.get("text"), row.get("owner"), row.get("due_on")
        if not (isinstance(text, str) or text is None) or not (isinstance(owner, str) or owner is None):
            raise InvalidInput(_l("Decisions could not be read."), field="decisions")
        if due_on is not None and (not isinstance(due_on, date) or isinstance(due_on, datetime)):
            raise InvalidInput(_l("Enter a date."), field="decisions")
        fields.check_window(due_on, "decisions")
        if (text or "").strip() and (owner or "").strip() and due_on:
            decisions.append({"text": text.strip(), "owner": owner.strip(), "due_on": due_on.isoformat()})
    return decisions


def _attendance(ctx: TransitionContext) -> dict[int, str]:
    raw = ctx.data.get("attendance") or {}
    if not isinstance(raw, dict):
        raise InvalidInput(_l("Attendance could not be read."), field="attendance")
    attendance = {}
    for key, mode in raw.items():
        try:
            participant_id = int(key)
        except (TypeError, ValueError):
            raise InvalidInput(_l("Attendance could not be read."), field="attendance") from None
        if mode not in ATTENDANCE_MODES:
            raise InvalidInput(_l("Choose one of the options."), field="attendance")
        attendance[participant_id] = mode
    return attendance


def apply_kallelse(ctx: TransitionContext) -> None:
    """Check the kallelse: sent by sipflow (a booking with invitees) or recorded from another system."""
    if ctx.data.get("send_invitations"):
        ctx.data["booking"] = read_booking(ctx.session, ctx.case, ctx.data, now=ctx.now)
        ctx.details.update({"sent_at": ctx.now.isoformat(), "channel": SIPFLOW_CHANNEL})
        return
    sent_at = fields.moment(ctx.data, "sent_at") or ctx.now
    if sent_at > ctx.now:
        raise InvalidInput(_l("A kallelse cannot be sent in the future."), field="sent_at")
    channel = fields.require_text(ctx.data, "channel", _l("State the system the kallelse was sent through."))
    if channel.casefold() == SIPFLOW_CHANNEL:
        raise InvalidInput(
            _l("To send the kallelse from sipflow, use “Book meeting and send kallelse”."), field="channel"
        )
    if ctx.data.get("meeting_starts_at") is not None:
        starts_at, ends_at = read_times(ctx.data, now=ctx.now)
        mode = fields.choice(ctx.data, "mode", MEETING_MODES)
        # Recorded for the record only: the other system holds the details, so the place is optional.
        ctx.data["booking"] = Booking(starts_at, ends_at, mode, fields.text(ctx.data, "location"), None)
    ctx.details.update({"sent_at": sent_at.isoformat(), "channel": channel})


def apply_meeting_outcome(ctx: TransitionContext) -> None:
    """Check the meeting's time, mode and attendance, and keep its decisions in the log."""
    held_at = fields.moment(ctx.data, "held_at", _l("Enter when the meeting was held."))
    if held_at > ctx.now:
        raise InvalidInput(_l("A meeting cannot be held in the future."), field="held_at")
    fields.choice(ctx.data, "mode", MEETING_MODES)
    participant_ids = {p.id for p in step_participants(ctx)}
    ctx.data["attendance"] = _attendance(ctx)
    if not set(ctx.data["attendance"]) <= participant_ids:
        raise InvalidInput(_l("Attendance names someone who is not a participant."), field="attendance")
    ctx.details["decisions"] = _decisions(ctx)
    no_change = fields.text(ctx.data, "no_change_reason")
    if no_change:
        ctx.details["no_change_reason"] = no_change


register_input("kallelse", apply_kallelse)
register_input("meeting_outcome", apply_meeting_outcome)
