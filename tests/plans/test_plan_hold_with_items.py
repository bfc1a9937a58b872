"""A plan step holds the plan at the row version the user saw; on PostgreSQL that compare-and-set rides in the
read of the plan's goals, efforts and contacts (a data-modifying WITH: one round trip fewer for establish_plan
and revise_plan), on SQLite the read follows it. A plan at another version is refused either way."""

from __future__ import annotations

from datetime import timedelta

import pytest
import support
from sqlmodel import select

from sipflow.cases.models import SipCase
from sipflow.cases.scripted import scripted_input
from sipflow.plans.editor import PlanConflict
from sipflow.plans.inputs import PLAN_CHANGED_SINCE_OPENED
from sipflow.plans.models import PlanVersion

PLAN_STEPS = ("establish_plan", "revise_plan")


def _holds(seen: list[str]) -> list[str]:
    return [s for s in seen if "UPDATE plan SET row_version" in s.replace('"', "")]


def _item_reads(seen: list[str]) -> list[str]:
    return [s for s in seen if "SELECT 'g' AS source" in s]


def _walk_to(db_session, registry, parties, case, trigger):
    """Fire the sip happy path up to trigger (not it); the minute trigger is to be fired at."""
    path = support.SIP_HAPPY_PATH
    for minute, fired in enumerate(path[: path.index(trigger)], start=1):
        support.fire(
            db_session,
            registry,
            parties.region_user,
            case,
            fired,
            now=support.FIXED_NOW + timedelta(minutes=minute),
        )
    return support.FIXED_NOW + timedelta(minutes=path.index(trigger) + 1)


def _plan_form(db_session, registry, case, trigger, at) -> dict:
    """The step's form as the plan page sends it (the plan completed and saved first, as a user would)."""
    form = registry.get(case.workflow_name, case.workflow_version).transition(case.state, trigger).form
    return scripted_input(db_session, case, form, at)


@pytest.mark.parametrize("trigger", PLAN_STEPS)
def test_the_hold_and_the_plans_items_are_one_statement_on_postgresql(
    trigger, engine, db_session, registry, parties, create_case
):
    case = create_case("sip")
    at = _walk_to(db_session, registry, parties, case, trigger)
    data = _plan_form(db_session, registry, case, trigger, at)
    with support.statements(engine) as seen:
        support.fire(db_session, registry, parties.region_user, case, trigger, now=at, data=data)
    holds, reads = _holds(seen), _item_reads(seen)
    assert len(holds) == 1 and len(reads) == 1, seen
    if engine.dialect.name == "postgresql":
        assert holds[0] is reads[0] and " ".join(holds[0].split()).startswith("WITH held_plan AS (UPDATE"), (
            holds
        )
    else:
        assert seen.index(reads[0]) == seen.index(holds[0]) + 1, seen
    # The version froze what the plan holds, as the guards saw it.
    version = db_session.exec(
        select(PlanVersion).where(PlanVersion.case_id == case.id).order_by(PlanVersion.number.desc())
    ).first()
    assert version.content["own_goals"] and version.content["efforts"]


@pytest.mark.parametrize("trigger", PLAN_STEPS)
def test_a_plan_at_another_row_version_is_refused(
    trigger, engine, db_session, registry, parties, create_case
):
    case = create_case("sip")
    at = _walk_to(db_session, registry, parties, case, trigger)
    data = _plan_form(db_session, registry, case, trigger, at)
    state = case.state
    with pytest.raises(PlanConflict) as refused:
        support.fire(
            db_session,
            registry,
            parties.region_user,
            case,
            trigger,
            now=at,
            data={**data, "plan_row_version": data["plan_row_version"] + 1},
        )
    assert str(refused.value.message) == str(PLAN_CHANGED_SINCE_OPENED)
    db_session.expire_all()
    assert db_session.get(SipCase, case.id).state == state
