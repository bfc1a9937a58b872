"""The case area's guards: who takes part, the child's view and the meeting's outcome.

(Huvudansvar's guard is the plan's: plans/guards.py, by the rule in plans/responsibility.py.)
"""

from __future__ import annotations

from sipflow.cases.participants import participating_organisations
from sipflow.cases.services import step_participants
from sipflow.people.models import Organisation
from sipflow.translated import lazy_gettext as _l
from sipflow.workflow.context import TransitionContext
from sipflow.workflow.registry import register_guard


def _organisations(ctx: TransitionContext) -> list[Organisation]:
    if "organisations" not in ctx.memo:
        ctx.memo["organisations"] = participating_organisations(ctx.session, ctx.case.id)
    return ctx.memo["organisations"]


def two_organisations(ctx: TransitionContext) -> bool:
    """At least two organisations take part: a SIP is planning across huvudmän."""
    # The step's participants name their organisations: counting them needs no organisation rows.
    organisation_ids = {p.organisation_id for p in step_participants(ctx) if p.organisation_id is not None}
    return len(organisation_ids) >= 2


def school_participates(ctx: TransitionContext) -> bool:
    """A school is a party (child SIP)."""
    return any(o.kind == "school" for o in _organisations(ctx))


def child_view_recorded(ctx: TransitionContext) -> bool:
    """The child's own view is written down."""
    return bool((ctx.case.child_view or "").strip())


def meeting_outcome_recorded(ctx: TransitionContext) -> bool:
    """The meeting produced a decision with owner and date, or an explicit 'no change' with a reason."""
    # Read what the meeting_outcome input kept after cleaning, not the raw form data.
    return bool(ctx.details.get("decisions")) or bool(ctx.details.get("no_change_reason"))


register_guard(
    "two_organisations", two_organisations, _l("At least two organisations must take part in a SIP.")
)
register_guard("school_participates", school_participates, _l("The school must take part."))
register_guard(
    "child_view_recorded",
    child_view_recorded,
    _l("Record the child's own view first."),
    # The preparation form's field for it (a step whose form has none shows the message at the top).
    field="child_view",
)
register_guard(
    "meeting_outcome_recorded",
    meeting_outcome_recorded,
    _l("Record at least one decision with owner and date, or 'no change' with a reason."),
)
