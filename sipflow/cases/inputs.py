"""What each case-level kind of transition form writes before the transition's guards are asked.

The views turn form fields into typed values; these handlers check the business rules again, so the
service layer refuses bad input whoever calls it (view, API, CLI or benchmark).
"""

from __future__ import annotations

from sipflow.cases import fields
from sipflow.errors import InvalidInput
from sipflow.translated import lazy_gettext as _l
from sipflow.workflow.context import TransitionContext
from sipflow.workflow.registry import register_input


def apply_none(ctx: TransitionContext) -> None:
    """Transitions without a form write nothing of their own."""


def apply_reason(ctx: TransitionContext) -> None:
    """A reason is required; it goes to the transition log (and the case when closing)."""
    # Kept on the case (its close reason) and shown in its history: no control or invisible character.
    reason = fields.free(ctx.data, "reason")
    if reason is None:
        raise InvalidInput(_l("State a reason."), field="reason")
    ctx.data["reason"] = reason
    if ctx.data.get("closing"):
        ctx.case.closed_reason = reason


def apply_preparation(ctx: TransitionContext) -> None:
    """Keep the questions for the agenda and, for a child, the child's own view.

    A field not sent, or sent empty, keeps what is stored: the form is filled with it, so an empty field
    is far more often a form that lost it than a wish to erase it. (The person's own goals the form also
    carries go to the plan draft: the plan area's effect reads them from the data.)
    """
    for name in ("questions", "child_view"):
        value = fields.free(ctx.data, name)
        if value:
            setattr(ctx.case, name, value)


# Each of these only sets attributes of the case (the plan's own input lives in plans/inputs.py).
register_input("none", apply_none, attributes_only=True)
register_input("reason", apply_reason, attributes_only=True)
register_input("preparation", apply_preparation, attributes_only=True)
