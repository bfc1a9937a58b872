"""The working plan of a case: found or started, so every caller reads and writes the same row."""

from __future__ import annotations

from sqlmodel import Session, select

from sipflow.cases.models import SipCase
from sipflow.plans.models import Plan, PlanEffort, PlanGoal
from sipflow.workflow.context import TransitionContext

# ctx.memo key of the step's (plan, goals, efforts): read once, shared by the plan guards and the freeze.
STEP_PLAN_ITEMS = "plan_items"


def find_plan(session: Session, case: SipCase) -> Plan | None:
    """The case's working plan, if one was started."""
    return session.exec(select(Plan).where(Plan.case_id == case.id)).first()


def working_plan(session: Session, case: SipCase) -> Plan:
    """The case's working plan, started (empty) on first use; the caller's unit of work commits it."""
    plan = find_plan(session, case)
    if plan is None:
        plan = Plan(case_id=case.id)
        session.add(plan)
        session.flush()
    return plan


def step_plan_items(ctx: TransitionContext) -> tuple[Plan | None, list[PlanGoal], list[PlanEffort]]:
    """(plan, goals, efforts in their order) of the step's case, read once per step; (None, [], []) before
    a plan is started. Whatever adds goals or efforts in a step calls `forget_step_plan_items`.
    """
    if STEP_PLAN_ITEMS not in ctx.memo:
        # The plan step's input found the plan already (ctx.memo["plan"]).
        plan = ctx.memo["plan"] if "plan" in ctx.memo else find_plan(ctx.session, ctx.case)
        goals, efforts = [], []
        if plan is not None:
            goals = ctx.session.exec(
                select(PlanGoal).where(PlanGoal.plan_id == plan.id).order_by(PlanGoal.position, PlanGoal.id)
            ).all()
            efforts = ctx.session.exec(
                select(PlanEffort)
                .where(PlanEffort.plan_id == plan.id)
                .order_by(PlanEffort.position, PlanEffort.id)
            ).all()
        ctx.memo[STEP_PLAN_ITEMS] = (plan, list(goals), list(efforts))
    return ctx.memo[STEP_PLAN_ITEMS]


def forget_step_plan_items(ctx: TransitionContext) -> None:
    """The step changed the plan's goals or efforts: the next reader reads them again."""
    ctx.memo.pop(STEP_PLAN_ITEMS, None)
