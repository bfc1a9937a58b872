"""What the plan area adds to the workflow: the establishing step's form input, the preparation effect and
the scripted plan (demo, tests, benchmark).

The establishing (or revising) step no longer chooses anything itself: the plan is written in the editor,
huvudansvar is given by its own action; the step checks that the plan is the one the user looked at and
copies its follow-up day to the case, where the follow-up deadline counts from.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlmodel import select

from sipflow.cases import fields
from sipflow.cases.scripted import register_scripted_input
from sipflow.clock import end_of_local_day, first_working_day
from sipflow.errors import InvalidInput
from sipflow.lengths import fits, too_long
from sipflow.people.models import Person
from sipflow.plans.editor import PlanConflict, add_own_goals, is_child, local_today, plan_data, save_plan
from sipflow.plans.models import PlanGoal, effort_in_force
from sipflow.plans.responsibility import give_first_huvudansvar_unclaimed
from sipflow.plans.services import (
    STEP_PLAN,
    find_plan,
    forget_step_plan_items,
    hold_step_plan,
    read_step_plan,
)
from sipflow.translated import lazy_gettext as _l
from sipflow.workflow.context import TransitionContext
from sipflow.workflow.registry import register_effect, register_input

PLAN_CHANGED_SINCE_OPENED = _l(
    "The plan was changed after you opened it. Look at it as it is now before you establish it."
)
OWN_GOALS_LIMIT = 4000


def follow_up_due_at(day: date) -> datetime:
    """When a follow-up planned on day is due (the case's follow_up_on): by the end of that day in Sweden, its
    last second, as every deadline counted in whole days (so the lists show it as its date)."""
    return end_of_local_day(day)


def plan_follow_up_into_case(ctx: TransitionContext) -> None:
    """Before the case's claim: read the plan and copy its follow-up day to the case (the claim writes it).

    Reads only, so it may run again should the claim start afresh; apply_plan then holds the plan at the
    row version the user saw, so the day copied is that version's.
    """
    # With the person and the last version number: the guards and the freeze need them (no read again).
    plan = read_step_plan(ctx)
    if plan is not None and plan.follow_up_on is not None:
        ctx.case.follow_up_on = follow_up_due_at(plan.follow_up_on)


def apply_plan(ctx: TransitionContext) -> None:
    """Establish the plan the user saw (its row version); its follow-up day is on the case already."""
    if STEP_PLAN not in ctx.memo:
        plan_follow_up_into_case(ctx)
    plan = ctx.memo[STEP_PLAN]
    if plan is None:
        raise InvalidInput(_l("Write the plan before you establish it."), field="plan_row_version")
    expected = ctx.data.get("plan_row_version")
    if isinstance(expected, bool) or not isinstance(expected, int) or not 0 <= expected < 2**31:
        raise InvalidInput(
            _l("Establish the plan from the plan page, where you see what it holds."),
            field="plan_row_version",
        )
    # A no-op compare-and-set: it holds the plan row for this step, so a save that commits first makes it
    # miss (a conflict) rather than the step establishing a plan nobody looked at.
    if not hold_step_plan(ctx, plan, expected):
        raise PlanConflict(PLAN_CHANGED_SINCE_OPENED)
    ctx.details["plan_row_version"] = expected


def _goal_lines(value) -> list[str]:
    """The person's own goals from the preparation form: one per line (or a list of lines)."""
    if value is None:
        return []
    if isinstance(value, str):
        if not fits(value, OWN_GOALS_LIMIT):
            raise InvalidInput(too_long(OWN_GOALS_LIMIT), field="own_goals")
        lines = value.splitlines()
    elif isinstance(value, list) and all(isinstance(line, str) for line in value):
        lines = value
    else:
        raise InvalidInput(_l("Enter text."), field="own_goals")
    goals = [line.strip() for line in lines if line.strip()]
    if not all(fits(goal, 1000) for goal in goals):
        raise InvalidInput(too_long(1000), field="own_goals")
    # The plan's own goals, as the editor's: no control or invisible character.
    return [fields.several_lines(goal, "own_goals") for goal in goals]


def preparation_into_plan(ctx: TransitionContext) -> None:
    """What matters to the person ("Vad är viktigt för dig?") becomes their own goals in the plan draft."""
    goals = _goal_lines(ctx.data.get("own_goals"))
    if goals:
        add_own_goals(ctx.session, ctx.case, goals, actor=ctx.actor, now=ctx.now)
        forget_step_plan_items(ctx)


def preparation_repeated(session, case, step, data: dict) -> dict | None:
    """The preparation form sent again: its own goals are in the plan draft (as preparation_into_plan adds
    them: a goal there already, case aside, was kept once); the data without them for the form's own
    comparison, or None when a goal is not there (another attempt, whose text must not be lost)."""
    try:
        goals = _goal_lines(data.get("own_goals"))
    except InvalidInput:
        return None
    if goals:
        plan = find_plan(session, case)
        own = (
            set()
            if plan is None
            else {
                text.casefold()
                for text in session.exec(
                    select(PlanGoal.text).where(PlanGoal.plan_id == plan.id, PlanGoal.kind == "own")
                ).all()
            }
        )
        if any(goal.casefold() not in own for goal in goals):
            return None
    return {name: value for name, value in data.items() if name != "own_goals"}


def scripted_plan(session, case, now: datetime) -> dict:
    """For demo, tests and benchmark: complete the working plan as a user would, then establish that one.

    Whatever the plan holds is kept; what a complete plan needs and it lacks is added. Huvudansvar goes to
    the initiating organisation when nobody has it yet, if it is a huvudman (else to the first huvudman
    taking part: responsibility.give_first_huvudansvar_unclaimed).
    """
    give_first_huvudansvar_unclaimed(session, case, None, now=now)
    plan = find_plan(session, case)
    data = plan_data(session, case, plan)
    if not data["own_goals"]:
        data["own_goals"] = [{"uid": None, "text": "Det är viktigt för mig att få bo kvar hemma."}]
    if not any(e["kind"] == "effort" and effort_in_force(e["status"]) for e in data["efforts"]):
        data["efforts"].append(
            {
                "kind": "effort",
                "what": "Samordning av insatserna",
                "organisation_id": case.initiating_organisation_id,
            }
        )
    for effort in data["efforts"]:
        if effort["kind"] == "effort":
            effort["organisation_id"] = effort["organisation_id"] or case.initiating_organisation_id
            effort["responsible"] = effort.get("responsible") or "Samordnare"
    if not data["no_other_measures"] and not any(e["kind"] == "other" for e in data["efforts"]):
        data["no_other_measures"] = True
    today = local_today(now)
    if data["follow_up_on"] is None or data["follow_up_on"] <= today:
        # As a user would after the warning: a working day, so its reminders do not come on a day off.
        data["follow_up_on"] = first_working_day(today + timedelta(days=90))
    person = session.get(Person, case.person_id)
    if is_child(person, today) and not (data["child_view"] or data["child_view_missing_reason"]):
        data["child_view_missing_reason"] = "Barnet vill inte uttrycka sin syn just nu."
    plan = save_plan(session, case, None, data, expected_row_version=plan.row_version if plan else 0, now=now)
    return {"plan_row_version": plan.row_version}


register_input("plan", apply_plan, before_claim=plan_follow_up_into_case, sets_dates=("follow_up_on",))
# The person's own goals the preparation form asks for are kept by this effect only.
register_effect(
    "preparation_into_plan", preparation_into_plan, repeats=preparation_repeated, records=("preparation",)
)
register_scripted_input("plan", scripted_plan)
