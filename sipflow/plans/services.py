"""The working plan of a case: found or started, so every caller reads and writes the same row."""

from __future__ import annotations

from sqlalchemy import Integer, bindparam, func
from sqlmodel import Session, select

from sipflow.cases.models import SipCase
from sipflow.cases.services import step_participants
from sipflow.people.models import Person
from sipflow.plans.content import (
    NO_PLAN_ROWS,
    PlanRows,
    plan_rows_after,
    read_plan_rows,
    read_plan_rows_after,
)
from sipflow.plans.models import Plan, PlanVersion
from sipflow.workflow.context import TransitionContext

# ctx.memo keys of the step's working plan (read before the claim by the plan form's input) and of its
# (plan, rows): read once, shared by the plan guards and the freeze.
STEP_PLAN = "plan"
STEP_PLAN_ITEMS = "plan_items"
# ctx.memo keys of the step's person and of the case's last plan version number (0: none yet).
STEP_PERSON = "person"
LAST_VERSION_NUMBER = "last_version_number"

# The case's person and its last plan version number, in one statement built once: a plan step's guard
# needs the person (a child's view), its freeze the person (the content prints the name) and the number.
_CASE_ID = bindparam("case_id", type_=Integer)
_LAST_NUMBER = select(func.max(PlanVersion.number)).where(PlanVersion.case_id == _CASE_ID).scalar_subquery()
_PERSON_AND_LAST_NUMBER = select(Person, _LAST_NUMBER).where(
    Person.id == bindparam("person_id", type_=Integer)
)
# The same with the case's working plan (none yet: NULL), for the step that establishes or revises it.
_PERSON_PLAN_AND_LAST_NUMBER = (
    select(Person, Plan, _LAST_NUMBER)
    .outerjoin(Plan, Plan.case_id == _CASE_ID)
    .where(Person.id == bindparam("person_id", type_=Integer))
)


def person_and_last_version_number(session: Session, case: SipCase) -> tuple[Person, int]:
    """The case's person and the number of its newest plan version (0 before the first), one statement."""
    person, last = session.execute(
        _PERSON_AND_LAST_NUMBER, {"person_id": case.person_id, "case_id": case.id}
    ).one()
    return person, last or 0


def read_step_plan(ctx: TransitionContext) -> Plan | None:
    """The case's working plan (None before one is started), read with the person and the last version
    number in one statement; the step's guards and its freeze take the other two from the memo.
    """
    person, plan, last = ctx.session.execute(
        _PERSON_PLAN_AND_LAST_NUMBER, {"person_id": ctx.case.person_id, "case_id": ctx.case.id}
    ).one()
    ctx.memo.update({STEP_PLAN: plan, STEP_PERSON: person, LAST_VERSION_NUMBER: last or 0})
    return plan


def step_person(ctx: TransitionContext) -> Person:
    """The case's person, read once per step together with the case's last plan version number."""
    if STEP_PERSON not in ctx.memo:
        ctx.memo[STEP_PERSON], ctx.memo[LAST_VERSION_NUMBER] = person_and_last_version_number(
            ctx.session, ctx.case
        )
    return ctx.memo[STEP_PERSON]


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


def step_plan_items(ctx: TransitionContext) -> tuple[Plan | None, PlanRows]:
    """(plan, its goals, efforts, contacts and the participants' names as read-only rows) of the step's
    case, read once per step (one statement); (None, empty rows) before a plan is started. Whatever adds
    goals or efforts in a step calls `forget_step_plan_items`.
    """
    if STEP_PLAN_ITEMS not in ctx.memo:
        # The plan step's input found the plan already (read_step_plan).
        plan = ctx.memo[STEP_PLAN] if STEP_PLAN in ctx.memo else find_plan(ctx.session, ctx.case)
        # With what the version frozen after the guards shows of it: the guards need the goals and efforts
        # only, but the freeze would read the rest in a statement of its own.
        participants = step_participants(ctx)
        rows = read_plan_rows(ctx.session, plan.id, participants) if plan is not None else NO_PLAN_ROWS
        ctx.memo[STEP_PLAN_ITEMS] = (plan, rows)
    return ctx.memo[STEP_PLAN_ITEMS]


def forget_step_plan_items(ctx: TransitionContext) -> None:
    """The step changed the plan's goals or efforts: the next reader reads them again."""
    ctx.memo.pop(STEP_PLAN_ITEMS, None)


# The no-op compare-and-set that holds the plan for a step, built once (Core: the ORM kept nothing in step
# either, synchronize_session=False); it sets row_version to the value it must have.
_PLANS = Plan.__table__
_HOLD_PLAN = (
    _PLANS.update()
    .where(
        _PLANS.c.id == bindparam("plan_id", type_=_PLANS.c.id.type),
        _PLANS.c.row_version == bindparam("expected", type_=_PLANS.c.row_version.type),
    )
    .values(row_version=bindparam("expected", type_=_PLANS.c.row_version.type))
)
# On PostgreSQL the hold rides in the read of the step's plan items as a data-modifying WITH (one round trip
# fewer): the read's "w" row, the plan's id the UPDATE returned, tells that it matched. The read sees the
# rows as the statement began, not as the hold found them: the same here, as every writer of a plan locks
# the case before the plan (the editor, huvudansvar, a step's claim), so none can commit in between once
# the step's claim is made; one that committed before moved the row version, and the hold misses.
_HOLD_PLAN_WITH_ITEMS = plan_rows_after(_HOLD_PLAN.returning(_PLANS.c.id).cte("held_plan"))


def hold_step_plan(ctx: TransitionContext, plan: Plan, expected: int) -> bool:
    """Hold the plan row for the step at row version expected (a no-op compare-and-set); False when the
    plan is at another version. On PostgreSQL its items (step_plan_items) are read in the same statement.
    """
    params = {"plan_id": plan.id, "expected": expected}
    if ctx.session.get_bind().dialect.name != "postgresql" or STEP_PLAN_ITEMS in ctx.memo:
        return ctx.session.execute(_HOLD_PLAN, params).rowcount == 1
    rows, held = read_plan_rows_after(ctx.session, _HOLD_PLAN_WITH_ITEMS, params, step_participants(ctx))
    if held:
        ctx.memo[STEP_PLAN_ITEMS] = (plan, rows)
    return bool(held)
