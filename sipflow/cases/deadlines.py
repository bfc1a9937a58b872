"""What a workflow's deadline rules say for one event: pure functions, shared by the services and the demo."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sipflow.clock import add_days, end_of_local_day, first_working_day, local_to_utc, to_local
from sipflow.workflow.definition import END_OF_DAY, DeadlineDef, Workflow


def started_by(workflow: Workflow, event: str) -> tuple[DeadlineDef, ...]:
    """The deadline rules that event starts."""
    return tuple(rule for rule in workflow.deadlines if event in rule.started_by)


def met_kinds(workflow: Workflow, event: str) -> frozenset[str]:
    """The kinds of deadline that event meets."""
    return frozenset(rule.kind for rule in workflow.deadlines if event in rule.met_by)


def due_at(rule: DeadlineDef, case_dates: Mapping[str, datetime | None]) -> datetime | None:
    """When rule's deadline falls for a case with these dates, or None when its start date is not set: the one
    place a due date is computed (the services, the reminders and the demo's simulation all ask here).

    Its days counted in Swedish time (clock.add_days), its last day moved to the next working day when the
    file says extend_to_working_day, ending at the start's wall-clock time or, until = "end_of_day", at the
    end of that day in Sweden (whatever the offset that day: summer time or not).
    """
    start = case_dates.get(rule.source_field)
    if start is None:
        return None
    due = add_days(start, rule.days, working_days=rule.working_days)
    if rule.until != END_OF_DAY and not rule.extend_to_working_day:
        return due
    day = to_local(due).date()
    if rule.extend_to_working_day:
        day = first_working_day(day)
    if rule.until == END_OF_DAY:
        return end_of_local_day(day)
    return local_to_utc(datetime.combine(day, to_local(start).time().replace(fold=0)))


def settled(kind: str, met: frozenset[str], ending: bool) -> str | None:
    """The column a step sets on an open deadline of kind: `met_at`, `cancelled_at` (the case ends with it
    open) or None (it stays open). services._settle_deadlines writes the same rule as two UPDATEs."""
    if kind in met:
        return "met_at"
    if ending:
        return "cancelled_at"
    return None
