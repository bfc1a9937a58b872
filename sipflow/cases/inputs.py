"""What each kind of transition form writes before the transition's guards are asked.

The views turn form fields into typed values; these handlers check the business rules again, so the
service layer refuses bad input whoever calls it (view, API, CLI or benchmark).
"""

from __future__ import annotations

from collections.abc import Callable

from flask_babel import lazy_gettext as _l
from sqlmodel import select

from sipflow.cases.errors import InvalidInput
from sipflow.cases.models import Participant
from sipflow.clock import to_local
from sipflow.consent.models import CONSENT_FORMS, CONSENT_GIVERS, Consent, ConsentOrganisation
from sipflow.meetings.models import ATTENDANCE_MODES, MEETING_MODES
from sipflow.workflow.context import TransitionContext
from sipflow.workflow.guards import participating_organisations


def _require_text(ctx: TransitionContext, name: str, message) -> str:
    value = (ctx.data.get(name) or "").strip()
    if not value:
        raise InvalidInput(message, field=name)
    return value


def _choice(ctx: TransitionContext, name: str, allowed: tuple[str, ...]) -> str:
    value = ctx.data.get(name)
    if value not in allowed:
        raise InvalidInput(_l("Choose one of the options."), field=name)
    return value


def apply_none(ctx: TransitionContext) -> None:
    """Transitions without a form write nothing of their own."""


def apply_reason(ctx: TransitionContext) -> None:
    """A reason is required; it goes to the transition log (and the case when closing)."""
    reason = _require_text(ctx, "reason", _l("State a reason."))
    if ctx.data.get("closing"):
        ctx.case.closed_reason = reason


def apply_consent(ctx: TransitionContext) -> None:
    """Record a given consent with its scope of organisations and validity."""
    given_by = _choice(ctx, "given_by", CONSENT_GIVERS)
    form = _choice(ctx, "form", CONSENT_FORMS)
    valid_until = ctx.data.get("valid_until")
    if valid_until is not None and valid_until < to_local(ctx.now).date():
        raise InvalidInput(_l("The consent cannot end before today."), field="valid_until")
    participating = {o.id for o in participating_organisations(ctx.session, ctx.case.id)}
    scope = set(ctx.data.get("organisation_ids") or [])
    if not scope:
        raise InvalidInput(_l("Choose the organisations the consent covers."), field="organisation_ids")
    if not scope <= participating:
        raise InvalidInput(
            _l("The consent can only cover organisations taking part."), field="organisation_ids"
        )
    consent = Consent(
        case_id=ctx.case.id,
        decision="given",
        given_by=given_by,
        given_by_name=(ctx.data.get("given_by_name") or "").strip() or None,
        form=form,
        information_scope=(ctx.data.get("information_scope") or "").strip() or None,
        valid_until=valid_until,
        recorded_at=ctx.now,
        recorded_by_user_id=ctx.actor.id,
    )
    ctx.session.add(consent)
    ctx.session.flush()
    for organisation_id in sorted(scope):
        ctx.session.add(ConsentOrganisation(consent_id=consent.id, organisation_id=organisation_id))
    ctx.details["consent_id"] = consent.id


def apply_consent_declined(ctx: TransitionContext) -> None:
    """Record a refusal and its reason: a SIP is never made against the person's will."""
    reason = _require_text(ctx, "reason", _l("State the reason given."))
    ctx.session.add(
        Consent(
            case_id=ctx.case.id,
            decision="declined",
            given_by=_choice(ctx, "given_by", CONSENT_GIVERS),
            form=_choice(ctx, "form", CONSENT_FORMS),
            declined_reason=reason,
            recorded_at=ctx.now,
            recorded_by_user_id=ctx.actor.id,
        )
    )


def apply_preparation(ctx: TransitionContext) -> None:
    """Keep the questions for the agenda and, for a child, the child's own view."""
    if "questions" in ctx.data:
        ctx.case.questions = (ctx.data.get("questions") or "").strip() or None
    if "child_view" in ctx.data:
        ctx.case.child_view = (ctx.data.get("child_view") or "").strip() or None


def apply_kallelse(ctx: TransitionContext) -> None:
    """Check the kallelse: when it was sent, through which system, and the meeting it calls."""
    sent_at = ctx.data.get("sent_at") or ctx.now
    if sent_at > ctx.now:
        raise InvalidInput(_l("A kallelse cannot be sent in the future."), field="sent_at")
    starts_at = ctx.data.get("meeting_starts_at")
    if starts_at is not None and starts_at <= ctx.now:
        raise InvalidInput(_l("The meeting must be in the future."), field="meeting_starts_at")
    if starts_at is not None:
        _choice(ctx, "mode", MEETING_MODES)
    ctx.details.update(
        {
            "sent_at": sent_at.isoformat(),
            "channel": (ctx.data.get("channel") or "sipflow").strip(),
        }
    )


def apply_meeting_outcome(ctx: TransitionContext) -> None:
    """Check the meeting's time, mode and attendance, and keep its decisions in the log."""
    held_at = ctx.data.get("held_at")
    if held_at is None:
        raise InvalidInput(_l("Enter when the meeting was held."), field="held_at")
    if held_at > ctx.now:
        raise InvalidInput(_l("A meeting cannot be held in the future."), field="held_at")
    _choice(ctx, "mode", MEETING_MODES)
    participant_ids = set(
        ctx.session.exec(
            select(Participant.id).where(Participant.case_id == ctx.case.id, Participant.removed_at.is_(None))
        ).all()
    )
    for participant_id, mode in (ctx.data.get("attendance") or {}).items():
        if int(participant_id) not in participant_ids or mode not in ATTENDANCE_MODES:
            raise InvalidInput(_l("Attendance names someone who is not a participant."), field="attendance")
    decisions = [
        {"text": d["text"].strip(), "owner": d["owner"].strip(), "due_on": d["due_on"].isoformat()}
        for d in ctx.data.get("decisions") or []
        if (d.get("text") or "").strip() and (d.get("owner") or "").strip() and d.get("due_on")
    ]
    ctx.details["decisions"] = decisions
    no_change = (ctx.data.get("no_change_reason") or "").strip()
    if no_change:
        ctx.details["no_change_reason"] = no_change


def apply_plan(ctx: TransitionContext) -> None:
    """Give one organisation huvudansvar and set the follow-up date."""
    organisation_id = ctx.data.get("huvudansvarig_organisation_id")
    rows = ctx.session.exec(
        select(Participant).where(
            Participant.case_id == ctx.case.id,
            Participant.kind == "organisation",
            Participant.removed_at.is_(None),
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
    follow_up_on = ctx.data.get("follow_up_on")
    if follow_up_on is None or follow_up_on <= ctx.now:
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
