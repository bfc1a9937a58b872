"""Decisions of a held meeting become efforts of the case's working plan, so nobody types them twice.

Registered with the workflow core as the effect ``carry_decisions_into_plan``; the workflow files name it
on the transitions whose form is ``meeting_outcome``, after ``mark_meeting_held`` has written the decisions.
"""

from __future__ import annotations

from sqlalchemy import Integer, bindparam, func, insert, inspect, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, select

from sipflow.cases.models import Participant, SipCase
from sipflow.db import column_rows
from sipflow.meetings.models import MeetingDecision
from sipflow.meetings.outcome import RECORDED_DECISIONS
from sipflow.people.models import Person
from sipflow.plans.models import Plan, PlanEffort
from sipflow.plans.services import forget_step_plan_items, working_plan
from sipflow.workflow.context import TransitionContext
from sipflow.workflow.registry import register_effect


def _actor_name(session: Session, case: SipCase, participant: Participant) -> str:
    """The name an effort of the person's or a närstående's own carries as its actor."""
    if participant.kind == "person":
        person = session.get(Person, case.person_id)
        return f"{person.given_name} {person.family_name}".strip()
    return participant.name or ""


def meeting_decisions(session: Session, meeting_id: int) -> list[MeetingDecision]:
    """The decisions of one meeting, in the order they were recorded."""
    return list(
        session.exec(
            select(MeetingDecision)
            .where(MeetingDecision.meeting_id == meeting_id)
            .order_by(MeetingDecision.position, MeetingDecision.id)
        ).all()
    )


# The case's plan, the decisions its efforts carry and their positions: plain values, built once.
_PLAN_AND_CARRIED = (
    select(Plan.id.label("plan_id"), PlanEffort.decision_id, PlanEffort.position)
    .outerjoin(PlanEffort, PlanEffort.plan_id == Plan.id)
    .where(Plan.case_id == bindparam("case_id", type_=Integer))
)


def _effort_of(session: Session, case: SipCase, decision: MeetingDecision, **placed) -> PlanEffort:
    """The planned effort a decision becomes (placed: its plan_id and position, when known)."""
    effort = PlanEffort(
        what=decision.text, ends_on=decision.due_on, decision_id=decision.id, status="planned", **placed
    )
    if decision.participant_id is not None:
        effort.kind = "own"
        effort.actor = _actor_name(session, case, session.get(Participant, decision.participant_id))
    else:
        effort.kind = "effort"
        effort.organisation_id = decision.organisation_id
        effort.unit_id = decision.unit_id
    return effort


def carry_decisions(
    session: Session, case: SipCase, decisions: list[MeetingDecision], *, just_recorded: bool = False
) -> list[PlanEffort]:
    """Add an effort to the working plan for each decision not carried yet; return the efforts added
    (written with one INSERT, so without ids).

    just_recorded: the decisions were written in this transaction, so no effort carries them yet.
    Adding efforts raises the plan's row version, so an editor page read before (which does not hold them)
    sees a conflict on saving instead of removing them.
    """
    if not decisions:
        return []
    if just_recorded:
        efforts = [_effort_of(session, case, decision) for decision in decisions]
        rows = [{c: getattr(e, c) for c in _VALUE_COLUMNS} | {"of_case": case.id} for e in efforts]
        # Into the case's plan, each at its next position, without reading the plan first. The first row
        # tells whether there is a plan (a single statement's row count, kept for an INSERT by
        # preserve_rowcount; an executemany's is not exact on every driver); the others follow it.
        postgresql = session.get_bind().dialect.name == "postgresql"
        first = _INTO_CASE_PLAN_RAISING_ITS_VERSION if postgresql else _INTO_CASE_PLAN
        if session.execute(first, rows[0]).rowcount == 1:
            if rows[1:]:
                session.execute(_INTO_CASE_PLAN, rows[1:])
            _plan_changed(session, case, raised=postgresql)
            return efforts
    # One read gives the plan, which decisions it carries already and its efforts' last position (a plan
    # holds tens of efforts, not thousands); a case without a plan yet gets one.
    existing = column_rows(session, _PLAN_AND_CARRIED, {"case_id": case.id})
    plan_id = existing[0].plan_id if existing else working_plan(session, case).id
    carried = {decision_id for _, decision_id, _ in existing if decision_id is not None}
    position = max((p for _, _, p in existing if p is not None), default=-1)
    efforts = []
    for decision in decisions:
        if decision.id in carried:
            continue
        position += 1
        efforts.append(_effort_of(session, case, decision, plan_id=plan_id, position=position))
    if efforts:
        # One INSERT for all of them: nothing in the step needs their ids (the ORM would send one statement
        # per row on SQLite to read each id back). They are returned unsaved, for what they hold.
        session.execute(
            insert(PlanEffort.__table__), [{c: getattr(e, c) for c in _EFFORT_COLUMNS} for e in efforts]
        )
        _plan_changed(session, case)
    return efforts


def _plan_changed(session: Session, case: SipCase, *, raised: bool = False) -> None:
    """The case's plan got efforts outside the editor: its row version moves on (a plan loaded in the
    session is updated too). raised: the statement that added the efforts raised it (PostgreSQL)."""
    if not raised:
        session.execute(
            update(Plan)
            .where(Plan.case_id == case.id)
            .values(row_version=Plan.row_version + 1)
            .execution_options(synchronize_session="evaluate")
        )
        return
    # As the ORM's "evaluate" would: a held plan of the case shows the new version (read again if unknown).
    for obj in list(session.identity_map.values()):
        if isinstance(obj, Plan):
            loaded = inspect(obj).dict
            if not {"case_id", "row_version"} <= loaded.keys():
                session.expire(obj, ["row_version"])
            elif loaded["case_id"] == case.id:
                set_committed_value(obj, "row_version", loaded["row_version"] + 1)


_EFFORT_COLUMNS = [c.name for c in PlanEffort.__table__.columns if c.name != "id"]
# An effort's values but its plan and position, which INSERT ... SELECT takes from the case's plan (no row
# when it has none): the plan's id, and one past its efforts' last position (so rows sent one after the
# other follow on). The case is bound as of_case: the WITH's UPDATE of the plan below would SET each plan
# column a parameter is named after (no effort column is one).
_EFFORTS, _PLANS = PlanEffort.__table__, Plan.__table__
_VALUE_COLUMNS = [c.name for c in _EFFORTS.columns if c.name not in ("id", "plan_id", "position")]
_EARLIER = _EFFORTS.alias("earlier")
_INTO_CASE_PLAN = (
    insert(_EFFORTS)
    .from_select(
        [*_VALUE_COLUMNS, "plan_id", "position"],
        select(
            *(bindparam(name, type_=_EFFORTS.c[name].type) for name in _VALUE_COLUMNS),
            _PLANS.c.id,
            select(func.coalesce(func.max(_EARLIER.c.position), -1) + 1)
            .where(_EARLIER.c.plan_id == _PLANS.c.id)
            .scalar_subquery(),
        ).where(_PLANS.c.case_id == bindparam("of_case", type_=Integer)),
    )
    .execution_options(preserve_rowcount=True)
)
# The same INSERT raising the plan's row version in a data-modifying WITH, for the first row on PostgreSQL
# (one round trip fewer than _plan_changed's UPDATE after it). The WITH's UPDATE runs whenever the INSERT is
# sent and matches the plan the INSERT selects, or nothing when the case has none (then neither writes).
_INTO_CASE_PLAN_RAISING_ITS_VERSION = _INTO_CASE_PLAN.add_cte(
    update(_PLANS)
    .where(_PLANS.c.case_id == bindparam("of_case", type_=Integer))
    .values(row_version=_PLANS.c.row_version + 1)
    .cte("raised_plan")
)


def carry_decisions_into_plan(ctx: TransitionContext) -> None:
    """Effect: the decisions of the meeting just recorded become planned efforts of the working plan."""
    meeting_id = ctx.details.get("meeting_id")
    if meeting_id is None:
        return
    # mark_meeting_held leaves the rows it wrote; another effect before this one may not have.
    decisions = ctx.memo.get(RECORDED_DECISIONS)
    just_recorded = decisions is not None
    if decisions is None:
        decisions = meeting_decisions(ctx.session, meeting_id)
    efforts = carry_decisions(ctx.session, ctx.case, decisions, just_recorded=just_recorded)
    if efforts:
        forget_step_plan_items(ctx)
        ctx.details["efforts_from_decisions"] = len(efforts)


register_effect("carry_decisions_into_plan", carry_decisions_into_plan, after=("mark_meeting_held",))
