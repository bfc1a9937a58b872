"""The one place that loads what each area registers with the workflow core (guards, effects, inputs, ...)."""

from __future__ import annotations

import importlib

# Each area's own registration modules; importing one registers its blocks (importing twice is harmless).
_HOOK_MODULES = (
    "sipflow.cases.guards",
    "sipflow.cases.inputs",
    "sipflow.coding.effects",
    "sipflow.coding.retention",
    "sipflow.consent.workflow_hooks",
    "sipflow.meetings.effects",
    "sipflow.meetings.inputs",
    "sipflow.notifications.retention",
    "sipflow.plans.retention",
    "sipflow.plans.from_meetings",
    "sipflow.plans.personal_links",
    "sipflow.plans.versions",
    "sipflow.reminders.hooks",
    "sipflow.reminders.retention",
    "sipflow.plans.guards",
    "sipflow.plans.inputs",
)


def load_areas() -> None:
    """Register every area's guards, effects and form inputs; call before loading workflow files."""
    for name in _HOOK_MODULES:
        importlib.import_module(name)
