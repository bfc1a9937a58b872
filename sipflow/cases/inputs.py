"""What each kind of transition form writes before the transition's guards are asked.

The views turn form fields into typed values; these handlers check the business rules again, so the
service layer refuses bad input whoever calls it (view, API, CLI or benchmark).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlmodel import select

from sipflow.cases import fields
from sipflow.cases.models import Participant
from sipflow.clock import to_local
from sipflow.consent.models import CONSENT_FORMS, CONSENT_GIVERS, Consent, ConsentOrganisation
from sipflow.errors import InvalidInput
from sipflow.meetings.booking import Booking, read_booking, read_times
from sipflow.meetings.models import ATTENDANCE_MODES, MEETING_MODES
from sipflow.workflow.context import TransitionContext
from sipflow.workflow.guards import participating_organisations

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


def apply_none(ctx: TransitionContext) -> None:
    """Transitions without a form write nothing of their own."""


def apply_reason(ctx: TransitionContext) -> None:
    """A reason is required; it goes to the transition log (and the case when closing)."""
    reason = fields.require_text(ctx.data, "reason", _l("State a reason."))
    ctx.data["reason"] = reason
    if ctx.data.get("closing"):
        ctx.case.closed_reason = reason


def apply_consent(ctx: TransitionContext) -> None:
    """Record a given consent with its scope of organisations and validity."""
    given_by = fields.choice(ctx.data, "given_by", CONSENT_GIVERS)
    form = fields.choice(ctx.data, "form", CONSENT_FORMS)
    valid_until = fields.calendar_date(ctx.data, "valid_until")
    if valid_until is not None and valid_until < to_local(ctx.now).date():
        raise InvalidInput(_l("The consent cannot end before today."), field="valid_until")
    participating = {o.id for o in participating_organisations(ctx.session, ctx.case.id)}
    scope = fields.ids(ctx.data, "organisation_ids")
    if not scope:
        raise InvalidInput(_l("Choose the organisations the consent covers."), field="organisation_ids")
    if not scope <= participating:
        raise InvalidInput(
            _l("The consent can only cover organisations taking part."), field="organisation_ids"
        )
    guardians = _consenting_guardians(ctx) if given_by == "guardian" else []
    for guardian in guardians or [None]:
        consent = Consent(
            case_id=ctx.case.id,
            decision="given",
            given_by=given_by,
            given_by_name=guardian.name if guardian else fields.text(ctx.data, "given_by_name"),
            given_by_participant_id=guardian.id if guardian else None,
            form=form,
            information_scope=fields.text(ctx.data, "information_scope"),
            valid_until=valid_until,
            recorded_at=ctx.now,
            recorded_by_user_id=ctx.actor.id,
        )
        ctx.session.add(consent)
        ctx.session.flush()
        for organisation_id in sorted(scope):
            ctx.session.add(ConsentOrganisation(consent_id=consent.id, organisation_id=organisation_id))
    ctx.details["consent_id"] = consent.id


def _consenting_guardians(ctx: TransitionContext) -> list[Participant]:
    """The guardians of the case named as consenting; each gets a consent row of their own."""
    chosen = fields.ids(ctx.data, "guardian_participant_ids")
    guardians = {
        p.id: p
        for p in ctx.session.exec(
            select(Participant).where(
                Participant.case_id == ctx.case.id,
                Participant.kind == "guardian",
                Participant.active,
            )
        ).all()
    }
    if not chosen <= set(guardians):
        raise InvalidInput(_l("Choose among the guardians taking part."), field="guardian_participant_ids")
    return [guardians[i] for i in sorted(chosen)]


def apply_consent_declined(ctx: TransitionContext) -> None:
    """Record a refusal and its reason: a SIP is never made against the person's will."""
    reason = fields.require_text(ctx.data, "reason", _l("State the reason given."))
    ctx.session.add(
        Consent(
            case_id=ctx.case.id,
            decision="declined",
            given_by=fields.choice(ctx.data, "given_by", CONSENT_GIVERS),
            form=fields.choice(ctx.data, "form", CONSENT_FORMS),
            declined_reason=reason,
            recorded_at=ctx.now,
            recorded_by_user_id=ctx.actor.id,
        )
    )


def apply_preparation(ctx: TransitionContext) -> None:
    """Keep the questions for the agenda and, for a child, the child's own view."""
    if "questions" in ctx.data:
        ctx.case.questions = fields.text(ctx.data, "questions")
    if "child_view" in ctx.data:
        ctx.case.child_view = fields.text(ctx.data, "child_view")


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
    participant_ids = set(
        ctx.session.exec(
            select(Participant.id).where(Participant.case_id == ctx.case.id, Participant.active)
        ).all()
    )
    ctx.data["attendance"] = _attendance(ctx)
    if not set(ctx.data["attendance"]) <= participant_ids:
        raise InvalidInput(_l("Attendance names someone who is not a participant."), field="attendance")
    ctx.details["decisions"] = _decisions(ctx)
    no_change = fields.text(ctx.data, "no_change_reason")
    if no_change:
        ctx.details["no_change_reason"] = no_change


def apply_plan(ctx: TransitionContext) -> None:
    """Give one organisation huvudansvar and set the follow-up date."""
    organisation_id = ctx.data.get("huvudansvarig_organisation_id")
    rows = ctx.session.exec(
        select(Participant).where(
            Participant.case_id == ctx.case.id,
            Participant.kind == "organisation",
            Participant.active,
        )
    ).all()
    if organisation_id not in {p.organisation_id for p in rows}:
        raise InvalidInput(
            _l("Overall responsibility must go to an organisation taking part."),
            field="huvudansvarig_organisation_id",
        )
    for participant in rows:
        if participant.organisation_id == organisation_id:
            participant.role = "huvudansvarig"
        elif participant.role == "huvudansvarig":
            participant.role = "participant"
        ctx.session.add(participant)
    follow_up_on = fields.moment(ctx.data, "follow_up_on", _l("Set a follow-up date in the future."))
    if follow_up_on <= ctx.now:
        raise InvalidInput(_l("Set a follow-up date in the future."), field="follow_up_on")
    ctx.case.follow_up_on = follow_up_on
    ctx.details["huvudansvarig_organisation_id"] = organisation_id


INPUT_HANDLERS: dict[str, Callable[[TransitionContext], None]] = {
    "none": apply_none,
    "reason": apply_reason,
    "consent": apply_consent,
    "consent_declined": apply_consent_declined,
    "preparation": apply_preparation,
    "kallelse": apply_kallelse,
    "meeting_outcome": apply_meeting_outcome,
    "plan": apply_plan,
}
