"""A step whose form's input only checks what is typed names the effect that records it: a county's file
with a kallelse step without `plan_meeting` loaded, the step was taken, and the meeting's time and place
staff typed were dropped without a word (nothing a user typed is lost); so were a meeting's outcome without
`mark_meeting_held` and the person's own goals without `preparation_into_plan`."""

from __future__ import annotations

import re

import pytest

from sipflow.areas import load_areas
from sipflow.config import PROJECT_ROOT
from sipflow.workflow.definition import WorkflowError, load_workflow_file

load_areas()

SIP = (PROJECT_ROOT / "workflows" / "sip.toml").read_text(encoding="utf-8")


def in_transition(trigger: str, old: str, new: str):
    """An edit of the [[transitions]] block of trigger only."""

    def edit(text: str) -> str:
        head, *blocks = text.split("[[transitions]]")
        (hit,) = [i for i, b in enumerate(blocks) if re.search(rf'^trigger = "{trigger}"$', b, re.M)]
        assert blocks[hit].count(old) == 1, (trigger, old)
        blocks[hit] = blocks[hit].replace(old, new)
        return "[[transitions]]".join([head, *blocks])

    return edit


@pytest.mark.parametrize(
    ("trigger", "effects", "form", "effect"),
    [
        ("send_kallelse", '["plan_meeting"]', "kallelse", "plan_meeting"),
        (
            "hold_meeting",
            '["mark_meeting_held", "record_codes", "carry_decisions_into_plan"]',
            "meeting_outcome",
            "mark_meeting_held",
        ),
        ("start_preparation", '["preparation_into_plan"]', "preparation", "preparation_into_plan"),
    ],
)
def test_a_step_without_the_effect_recording_its_form_is_refused(tmp_path, trigger, effects, form, effect):
    path = tmp_path / "sip.toml"
    path.write_text(in_transition(trigger, f"effects = {effects}", "effects = []")(SIP), encoding="utf-8")
    with pytest.raises(WorkflowError) as refused:
        load_workflow_file(path)
    assert str(refused.value) == (
        f"sip.toml: transitions.{trigger}.effects: a step with form {form!r} needs the effect {effect!r}, "
        "which records what the form asks for (without it what is typed is lost): "
        f'effects = ["{effect}", ...]'
    )


def test_a_step_without_a_form_needs_no_effect(tmp_path):
    # The kallelse recorded elsewhere: no form, no effect, as a county whose meetings sipflow does not book.
    edit = in_transition("send_kallelse", 'form = "kallelse"', 'form = "none"')
    text = in_transition("send_kallelse", 'effects = ["plan_meeting"]', "effects = []")(edit(SIP))
    path = tmp_path / "sip.toml"
    path.write_text(text, encoding="utf-8")
    assert load_workflow_file(path).transition("preparing", "send_kallelse").effects == ()


@pytest.mark.parametrize(
    ("trigger", "form", "effect"),
    [
        ("send_kallelse", "kallelse", "plan_meeting"),
        ("hold_meeting", "meeting_outcome", "mark_meeting_held"),
        ("start_preparation", "preparation", "preparation_into_plan"),
    ],
)
def test_an_effect_recording_a_form_on_a_step_of_another_form_is_refused(tmp_path, trigger, form, effect):
    # A county's follow-up recorded without its form (form = "none") kept the meeting's effects: the check
    # said ok, and taking the step failed with a server error (mark_meeting_held read a held time no form
    # had sent).
    path = tmp_path / "sip.toml"
    path.write_text(in_transition(trigger, f'form = "{form}"', 'form = "none"')(SIP), encoding="utf-8")
    with pytest.raises(WorkflowError) as refused:
        load_workflow_file(path)
    assert str(refused.value) == (
        f"sip.toml: transitions.{trigger}.effects: {effect!r} records what a step with form {form!r} asks "
        f"for, and this step's form is 'none': write form = \"{form}\", or leave {effect!r} out"
    )
    assert refused.value.line[1].startswith("effects = [")


def test_a_guard_reading_a_form_on_a_step_of_another_form_is_refused(tmp_path):
    # A county's follow-up recorded without its form, its effects taken out but the outcome's guard kept:
    # the check said ok, and every attempt at the step was refused (409) asking for a decision with owner
    # and date that the step's page had no field for, so no case could ever be followed up.
    edit = in_transition("follow_up", 'form = "meeting_outcome"', 'form = "none"')
    text = in_transition(
        "follow_up", 'effects = ["mark_meeting_held", "record_codes", "carry_decisions_into_plan"]\n', ""
    )(edit(SIP))
    path = tmp_path / "sip.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(WorkflowError) as refused:
        load_workflow_file(path)
    assert str(refused.value) == (
        "sip.toml: transitions.follow_up.conditions: 'meeting_outcome_recorded' checks what a step with form "
        "'meeting_outcome' records, and this step's form is 'none', so the step could never be taken: write "
        "form = \"meeting_outcome\", or leave 'meeting_outcome_recorded' out"
    )
    assert refused.value.line[1].startswith("conditions = [")
