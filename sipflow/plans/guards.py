"""The plan's guards: what a plan must hold before it is established (the legal items of a SIP).

Each names the editor field where the missing thing is entered, so the page's list of what is missing
links to it. They read the working plan as saved; a step reads it once (ctx.memo).
"""

from __future__ import annotations

from sqlmodel import select

from sipflow.cases.models import Participant
from sipflow.cases.services import register_removal_refusal, step_participants
from sipflow.errors import InvalidInput
from sipflow.plans.editor import effort_gaps, is_child, local_today
from sipflow.plans.models import OPEN_EFFORT_STATUSES, Plan, PlanEffort, by_others, effort_in_force
from sipflow.plans.responsibility import NOT_A_HUVUDMAN, holder_id, is_huvudman, organisation_kind
from sipflow.plans.services import step_person, step_plan_items
from sipflow.translated import lazy_gettext as _l
from sipflow.workflow.context import TransitionContext
from sipflow.workflow.registry import register_guard


def _plan(ctx: TransitionContext):
    """The case's plan (None before one is started), read once per step with its items."""
    return step_plan_items(ctx)[0]


def _efforts(ctx: TransitionContext, kind: str) -> list:
    efforts = step_plan_items(ctx)[1].efforts
    return [e for e in efforts if e.kind == kind and effort_in_force(e.status)]


def _measures_by_others(ctx: TransitionContext) -> list:
    efforts = step_plan_items(ctx)[1].efforts
    return [e for e in efforts if by_others(e.kind, e.organisation_kind) and effort_in_force(e.status)]


def plan_own_goals_recorded(ctx: TransitionContext) -> bool:
    """The person's own goals, in their own words, are in the plan."""
    return any(g.kind == "own" and g.text.strip() for g in step_plan_items(ctx)[1].goals)


def plan_efforts_listed(ctx: TransitionContext) -> bool:
    """The plan lists the efforts (insatser) that are needed (legal item 1)."""
    return bool(_efforts(ctx, "effort"))


def plan_efforts_owned(ctx: TransitionContext) -> bool:
    """Every effort names the organisation and the person responsible for it (legal item 2)."""
    return not any(effort_gaps(e.organisation_id, e.responsible) for e in _efforts(ctx, "effort"))


def plan_other_measures_stated(ctx: TransitionContext) -> bool:
    """Measures by others than region and municipality are listed, or the plan says there are none."""
    plan = _plan(ctx)
    return plan is not None and (plan.no_other_measures or bool(_measures_by_others(ctx)))


def _holder(ctx: TransitionContext) -> tuple[int | None, str | None]:
    """The organisation holding huvudansvar and its kind, (None, None) when none does."""
    # The step's participants, as the plan input left them (same session objects).
    holder = holder_id(step_participants(ctx))
    if holder is None:
        return None, None
    # Its kind comes with the participants' names the step reads with the plan (read here before a plan).
    kinds = step_plan_items(ctx)[1].organisation_kinds
    return holder, kinds[holder] if holder in kinds else organisation_kind(ctx.session, holder)


def huvudansvar_assigned(ctx: TransitionContext) -> bool:
    """One organisation has overall responsibility (huvudansvar), and it is a huvudman (legal item 4)."""
    holder, kind = _holder(ctx)
    return holder is not None and is_huvudman(kind)


def _huvudansvar_missing(ctx: TransitionContext):
    """The refusal of an organisation holding huvudansvar that is no huvudman, naming it (None: none holds
    it, the fixed message)."""
    holder, _kind = _holder(ctx)
    if holder is None:
        return None
    name = step_plan_items(ctx)[1].organisations.get(holder)
    if name is None:
        return NOT_A_HUVUDMAN
    return _l(
        "%(organisation)s has overall responsibility but is no huvudman: hand it over to the region or the "
        "municipality.",
        organisation=name,
    )


def plan_follow_up_ahead(ctx: TransitionContext) -> bool:
    """The plan says when it is followed up, and that day is still ahead."""
    plan = _plan(ctx)
    return plan is not None and plan.follow_up_on is not None and plan.follow_up_on > local_today(ctx.now)


def plan_child_view_or_reason(ctx: TransitionContext) -> bool:
    """For a person under 18: the child's own view is recorded, or why it is missing."""
    if not is_child(step_person(ctx), local_today(ctx.now)):
        return True
    plan = _plan(ctx)
    return bool((ctx.case.child_view or "").strip()) or bool(
        plan and (plan.child_view_missing_reason or "").strip()
    )


register_guard(
    "plan_own_goals_recorded",
    plan_own_goals_recorded,
    _l("Write the person's own goals, in their own words."),
    field="own_goals",
)
register_guard(
    "plan_efforts_listed", plan_efforts_listed, _l("List at least one effort (insats)."), field="efforts"
)
register_guard(
    "plan_efforts_owned",
    plan_efforts_owned,
    _l("Every effort needs an organisation and a named person responsible."),
    field="efforts",
)
register_guard(
    "plan_other_measures_stated",
    plan_other_measures_stated,
    _l("List the measures taken by others, or state that there are none."),
    field="other_measures",
)
register_guard(
    "huvudansvar_assigned",
    huvudansvar_assigned,
    _l("One organisation must have overall responsibility."),
    # The plan editor's huvudansvar section, where the hand-over action is.
    field="huvudansvar",
    explain=_huvudansvar_missing,
)
register_guard(
    "plan_follow_up_ahead",
    plan_follow_up_ahead,
    _l("Set a follow-up date in the future."),
    field="follow_up_on",
)
register_guard(
    "plan_child_view_or_reason",
    plan_child_view_or_reason,
    _l("Record the child's own view, or why it is missing."),
    field="child_view",
    # Named by the adult workflows too, for a person of 16 or 17 on them: it asks nothing of an adult.
    requirement=_l("For a person under 18: record the child's own view, or why it is missing."),
)


def keep_an_owner_for_open_efforts(session, case, participant) -> InvalidInput | None:
    """Refuse taking an organisation's last unit off the SIP while it owns efforts of the plan still to do.

    The plan must say who is responsible for each effort (SoL 2 kap. 7 §): they go to another organisation
    first, in the plan editor. A removal refusal (read-only): the removal and its page ask it.
    """
    organisation_id = participant.organisation_id
    if organisation_id is None:
        return None
    other_unit = session.exec(
        select(Participant.id)
        .where(
            Participant.case_id == case.id,
            Participant.organisation_id == organisation_id,
            Participant.active,
            Participant.id != participant.id,
        )
        .limit(1)
    ).first()
    if other_unit is not None:
        return None
    owned = session.exec(
        select(PlanEffort.id)
        .join(Plan, Plan.id == PlanEffort.plan_id)
        .where(
            Plan.case_id == case.id,
            PlanEffort.organisation_id == organisation_id,
            PlanEffort.status.in_(OPEN_EFFORT_STATUSES),
        )
        .limit(1)
    ).first()
    if owned is None:
        return None
    return InvalidInput(
        _l(
            "The organisation owns efforts of the plan that are still to do: give them to another "
            "organisation in the plan first."
        )
    )


register_removal_refusal(keep_an_owner_for_open_efforts)
