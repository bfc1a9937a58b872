"""A reminder a workflow file declares names the case's own template: the built-in kinds' templates need a
meeting, a deadline or an effort a declared reminder is not about, and rendered for one they mailed "you are
invited to a SIP meeting tomorrow" with no time, or a deadline without its name or day."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from sipflow.areas import load_areas
from sipflow.workflow.definition import WorkflowError, parse_workflow

SIP = Path(__file__).resolve().parents[2] / "workflows" / "sip.toml"

REMINDER = {
    "name": "prepare_meeting",
    "label": {"sv": "Förbered SIP-mötet", "en": "Prepare the SIP meeting"},
    "anchor": "next_meeting",
    "offset_days": -3,
    "recipients": ["huvudansvarig"],
}


def _parse(template: str):
    load_areas()
    data = tomllib.loads(SIP.read_text(encoding="utf-8"))
    return parse_workflow(SIP, data | {"reminders": [REMINDER | {"template": template}]})


@pytest.mark.parametrize("template", ["meeting_tomorrow", "deadline_soon", "effort_overdue"])
def test_a_built_in_kinds_template_is_refused_naming_the_one_to_use(template):
    with pytest.raises(WorkflowError) as refused:
        _parse(template)
    assert str(refused.value).startswith(
        f"sip.toml: reminders.prepare_meeting.template: unknown template {template!r}"
    )
    assert str(refused.value).endswith("(known: case_reminder)")


def test_the_case_template_is_taken():
    (reminder,) = _parse("case_reminder").reminders
    assert reminder.template == "case_reminder"
