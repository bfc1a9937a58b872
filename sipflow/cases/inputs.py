"""What each case-level kind of transition form writes before the transition's guards are asked.

The views turn form fields into typed values; these handlers check the business rules again, so the
service layer refuses bad input whoever calls it (view, API, CLI or benchmark).
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from sipflow.cases import fields
from sipflow.cases.services import step_participants
from sipflow.errors import InvalidInput
from sipflow.workflow.context import TransitionContext
from sipflow.workflow.registry import register_input


def apply_none(ctx: TransitionContext) -> None:
    """Transitions without a form write nothing of their own."""


def apply_reason(ctx: TransitionContext) -> None:
    """A reason is required; it goes to the transition log (and the case when closing)."""
    reason = fields.require_text(ctx.data, "reason", _l("State a reason."))
    ctx.data["reason"] = reason
    if ctx.data.get("closing"):
        ctx.case.closed_reason = reason


def apply_preparation(ctx: TransitionContext) -> None:
    """Keep the questions for the agenda and, for a child, the child's own view."""
    if "questions" in ctx.data:
        ctx.case.questions = fields.text(ctx.data, "questions")
    if "child_view" in ctx.data:
        ctx.case.child_view = fields.text(ctx.data, "child_view")


def apply_plan(ctx: TransitionContext) -> None:
    """Give one organisation huvudansvar and set the follow-up date."""
    organisation_id = ctx.data.get("huvudansvarig_organisation_id")
    rows = [p for p in step_participants(ctx) if p.kind == "organisation"]
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


# Each of these only sets attributes (the plan's participants are the step's, read before it runs).
register_input("none", apply_none, attributes_only=True)
register_input("reason", apply_reason, attributes_only=True)
register_input("preparation", apply_preparation, attributes_only=True)
register_input("plan", apply_plan, attributes_only=True)
