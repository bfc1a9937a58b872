"""Decisions carried into the plan raise its row version once. On PostgreSQL the first effort's INSERT
carries that UPDATE in a WITH (one round trip fewer for hold_meeting and follow_up); on SQLite it follows."""

from __future__ import annotations

import pytest
import support
from plankit import complete_data, new_decisions, save
from sqlmodel import Session

from sipflow.clock import now_utc
from sipflow.plans.from_meetings import carry_decisions
from sipflow.plans.models import Plan


def _plan_writes(seen: list[str]) -> list[str]:
    return [s for s in seen if "UPDATE plan" in s.replace('"', "") or "INSERT INTO planeffort" in s]


def _assert_shape(engine, writes: list[str]) -> None:
    """The plan's UPDATE rides in the first INSERT on PostgreSQL, else it is its own statement after them."""
    raises = [s for s in writes if "UPDATE plan" in s.replace('"', "")]
    assert len(raises) == 1 and "row_version + " in raises[0], writes
    if engine.dialect.name == "postgresql":
        assert raises[0] is writes[0] and raises[0].lstrip().startswith("WITH"), writes
        assert "INSERT INTO planeffort" in raises[0], writes
        # The plan's UPDATE sets its row version only (a parameter named as a plan column would be SET too).
        assert "UPDATE plan SET row_version=(plan.row_version + " in raises[0].replace('"', ""), writes
    else:
        assert raises[0] is writes[-1] and raises[0].lstrip().startswith("UPDATE"), writes
        assert len(writes) > 1, writes


@pytest.mark.parametrize("texts", [["Boendestöd"], ["Boendestöd", "Hemtjänst", "Ledsagning"]])
def test_carried_decisions_raise_the_plan_version_once_the_session_seeing_it(
    engine, db_session, parties, held, texts
):
    now = now_utc()
    plan = save(db_session, held, parties.region_user, complete_data(held, parties, now), now)
    db_session.commit()
    read_at = plan.row_version
    decisions = new_decisions(db_session, parties, held, texts)
    with support.statements(engine) as seen:
        added = carry_decisions(db_session, held, decisions, just_recorded=True)
    assert len(added) == len(texts)
    writes = _plan_writes(seen)
    assert sum("INSERT INTO planeffort" in s for s in writes) == (1 if len(texts) == 1 else 2), writes
    _assert_shape(engine, writes)
    # The session's plan shows the new version without a read, and it is the stored one.
    assert plan.row_version == read_at + 1
    db_session.commit()
    with Session(engine) as other:
        assert other.get(Plan, plan.id).row_version == read_at + 1


def test_hold_meeting_and_follow_up_raise_the_plan_version_with_the_efforts(
    engine, db_session, registry, parties, create_case
):
    case = create_case("sip")
    steps = support.fired_with_statements(
        db_session, registry, parties.region_user, case, engine, start=support.FIXED_NOW
    )
    for trigger, seen in steps:
        if trigger in ("hold_meeting", "follow_up"):
            _assert_shape(engine, _plan_writes(seen))
