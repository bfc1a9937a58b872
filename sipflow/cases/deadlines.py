"""What a workflow's deadline rules say for one event: pure functions, shared by the services and the demo."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sipflow.clock import add_days
from sipflow.workflow.definition import DeadlineDef, Workflow


def started_by(workflow: Workflow, event: str) -> tuple[DeadlineDef, ...]:
    """The deadline rules that event starts."""
    return tuple(rule for rule in workflow.deadlines if event in rule.started_by)


def met_kinds(workflow: Workflow, event: str) -> frozenset[str]:
    """The kinds of deadline that event meets."""
    return frozenset(rule.kind for rule in workflow.deadlines if event in rule.met_by)


def due_at(rule: DeadlineDef, case_dates: Mapping[str, datetime | None]) -> datetime | None:
    """When rule's deadline falls for a case with these dates, or None when its start date is not set."""
    start = case_dates.get(rule.source_field)
    if start is None:
        return None
    return add_days(start, rule.days, working_days=rule.working_days)


def settled(kind: str, met: frozenset[str], ending: bool) -> str | None:
    """The column a step sets on an open deadline of kind: `met_at`, `cancelled_at` (the case ends with it
    open) or None (it stays open). services._settle_deadlines writes the same rule as two UPDATEs."""
    if kind in met:
        return "met_at"
    if ending:
        return "cancelled_at"
    return None
