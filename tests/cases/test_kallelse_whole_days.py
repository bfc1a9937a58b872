"""The kallelse deadline counts whole days in Swedish time, off weekends and holidays where the file says so,
and a kallelse sent from another system before the SIP was entered counts from when it was sent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import support
from sqlmodel import select

from sipflow.areas import load_areas
from sipflow.cases import deadlines
from sipflow.cases.models import Deadline, met_in_time
from sipflow.clock import local_to_utc
from sipflow.config import PROJECT_ROOT
from sipflow.errors import InvalidInput
from sipflow.workflow.definition import WorkflowError, load_workflow_file

# The forms, guards and effects the workflow files name (as the app registers them).
load_areas()


def _rule(name: str, kind: str = "kallelse"):
    workflow = load_workflow_file(PROJECT_ROOT / "workflows" / f"{name}.toml")
    return next(rule for rule in workflow.deadlines if rule.kind == kind)


def _local(*args) -> datetime:
    return local_to_utc(datetime(*args))


def _due(name: str, start: datetime) -> datetime:
    rule = _rule(name)
    return deadlines.due_at(rule, {rule.source_field: start})


def test_discharge_kallelse_on_a_saturday_runs_to_the_end_of_monday():
    # The tester's case: utskrivningsklar Wednesday 01:00; the third day is Saturday 5 December.
    due = _due("sip_discharge", _local(2026, 12, 2, 1, 0))
    assert due == _local(2026, 12, 7, 23, 59, 59)
    assert met_in_time(_local(2026, 12, 5, 3, 35), due)


def test_discharge_kallelse_on_a_working_day_runs_to_the_end_of_that_day():
    due = _due("sip_discharge", _local(2026, 12, 7, 15, 0))
    assert due == _local(2026, 12, 10, 23, 59, 59)
    assert met_in_time(_local(2026, 12, 10, 23, 59), due)
    assert not met_in_time(_local(2026, 12, 11, 0, 0), due)


def test_discharge_kallelse_on_julafton_moves_past_christmas():
    # Julafton (Thursday), juldagen, annandag jul, Sunday: the next working day is Monday 28 December.
    assert _due("sip_discharge", _local(2026, 12, 21, 10, 0)) == _local(2026, 12, 28, 23, 59, 59)


def test_discharge_kallelse_over_the_start_of_summer_time_ends_at_local_midnight():
    # Sunday 28 March 2027 is Easter Day and the clocks go forward; Monday is annandag påsk: Tuesday 30
    # March ends at 23:59:59 CEST (21:59:59 UTC).
    due = _due("sip_discharge", _local(2027, 3, 25, 10, 0))
    assert due == datetime(2027, 3, 30, 21, 59, 59, tzinfo=UTC)


def test_plain_kallelse_counts_whole_days_without_moving_off_a_sunday():
    # A county agreement, not a statutory period: 21 days from Sunday 4 October 2026 is Sunday 25 October,
    # the day summer time ends; it runs to 23:59:59 CET (22:59:59 UTC) that day.
    for name in ("sip", "sip_child", "sip_child_v2"):
        assert _due(name, _local(2026, 10, 4, 10, 0)) == datetime(2026, 10, 25, 22, 59, 59, tzinfo=UTC)


def test_the_follow_up_deadline_is_unchanged():
    rule = _rule("sip_discharge", "follow_up")
    end_of_day = _local(2026, 12, 5, 23, 59)
    assert deadlines.due_at(rule, {rule.source_field: end_of_day}) == end_of_day


@pytest.mark.parametrize(
    ("line", "key"),
    [('until = "midnight"', "until"), ('extend_to_working_day = "yes"', "extend_to_working_day")],
)
def test_the_loader_refuses_a_bad_until_or_extend(tmp_path, line, key):
    text = (PROJECT_ROOT / "workflows" / "sip_discharge.toml").read_text(encoding="utf-8")
    text = text.replace('until = "end_of_day"\nextend_to_working_day = true\n', line + "\n")
    path = tmp_path / "sip_discharge.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(WorkflowError, match=rf"deadlines\.kallelse\.{key}"):
        load_workflow_file(path)


def _preparing(db_session, registry, parties, create_case, now, ready):
    case = create_case("sip_discharge", utskrivningsklar_at=ready)
    for trigger in ("give_consent", "start_preparation"):
        support.fire(db_session, registry, parties.region_user, case, trigger, now=now)
    return case


def test_a_kallelse_sent_before_the_sip_was_entered_meets_the_deadline_when_sent(
    db_session, registry, parties, create_case, now
):
    ready = now - timedelta(days=3)
    case = _preparing(db_session, registry, parties, create_case, now, ready)
    sent = ready + timedelta(days=1)
    support.fire(db_session, registry, parties.region_user, case, "send_kallelse", now=now, sent_at=sent)
    deadline = db_session.exec(select(Deadline).where(Deadline.case_id == case.id)).one()
    assert deadline.met_at.replace(tzinfo=UTC) == sent
    assert met_in_time(deadline.met_at, deadline.due_at)


def test_a_kallelse_sent_before_utskrivningsklar_is_refused(db_session, registry, parties, create_case, now):
    ready = now - timedelta(days=3)
    case = _preparing(db_session, registry, parties, create_case, now, ready)
    with pytest.raises(InvalidInput) as refused:
        support.fire(
            db_session,
            registry,
            parties.region_user,
            case,
            "send_kallelse",
            now=now,
            sent_at=ready - timedelta(minutes=1),
        )
    assert refused.value.field == "sent_at"
    assert "utskrivningsklar" in str(refused.value)
