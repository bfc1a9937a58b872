"""docs/workflow-files.md is enough for a county's coordinator to write a workflow file: it names every
building block a file may use (guards, effects, forms, parties, reminder anchors and templates) and every
key, its example file loads beside the shipped folder, and the refusals it quotes are the loader's."""

from __future__ import annotations

import re
import shutil

import pytest

from sipflow.areas import load_areas
from sipflow.config import PROJECT_ROOT
from sipflow.workflow import definition, engine
from sipflow.workflow.definition import WorkflowError, load_workflow_file
from sipflow.workflow.engine import WorkflowRegistry
from sipflow.workflow.registry import EFFECTS, GUARDS, INPUTS, REMINDER_ANCHORS, REMINDER_TEMPLATES

load_areas()

GUIDE = (PROJECT_ROOT / "docs" / "workflow-files.md").read_text(encoding="utf-8")
EXAMPLE = PROJECT_ROOT / "docs" / "examples" / "sip_aldre.toml"
# What the guide writes as code: its TOML examples (keys, values and comments) and `...` spans.
CODE = re.findall(r"```toml\n(.*?)```", GUIDE, re.S) + re.findall(r"`([^`\n]+)`", GUIDE)
NAMED = {word for code in CODE for word in re.findall(r"[a-z_]+", code)}


@pytest.fixture(autouse=True)
def unpublished(monkeypatch):
    """A registry built here publishes its copies to no one else in the process (engine.loaded_workflow)."""
    monkeypatch.setattr(engine, "_LOADED", {})


@pytest.mark.parametrize(
    ("what", "names"),
    [
        ("guard", GUARDS),
        ("effect", EFFECTS),
        ("form", INPUTS),
        ("reminder anchor", REMINDER_ANCHORS),
        ("reminder template", REMINDER_TEMPLATES),
        ("party", definition.PARTY_ROLES),
        ("deadline source", definition.DEADLINE_SOURCES),
        ("deadline indicator", definition.DEADLINE_INDICATORS),
        ("deadline end", definition.DEADLINE_UNTIL),
        ("start date", definition.START_DATES),
        ("top-level key", definition._TOP_KEYS),
        ("state key", definition._STATE_KEYS),
        ("transition key", definition._TRANSITION_KEYS),
        ("deadline key", definition._DEADLINE_KEYS),
        ("reminder key", definition._REMINDER_KEYS),
    ],
)
def test_the_guide_names_every_building_block_and_key(what, names):
    assert sorted(set(names) - NAMED) == [], f"docs/workflow-files.md names no {what} of these"


def test_the_example_loads_beside_the_shipped_files(tmp_path):
    for path in (PROJECT_ROOT / "workflows").glob("*.toml"):
        shutil.copy(path, tmp_path / path.name)
    shutil.copy(EXAMPLE, tmp_path / EXAMPLE.name)
    registry = WorkflowRegistry.from_folder(tmp_path)
    workflow = registry.latest("sip_aldre")
    assert workflow.version == 1
    (kallelse,) = workflow.deadlines
    assert (kallelse.days, kallelse.working_days) == (10, True)
    assert [r.template for r in workflow.reminders] == ["case_reminder"]


# The guide's table of common mistakes: (the example's text, the mistake, the row's words of the refusal).
MISTAKES = [
    (
        'source = ["invited"]',
        'source = ["invted"]',
        "transitions.hold_meeting.source: unknown state 'invted'",
    ),
    ('"two_organisations", "plan_efforts_owned"', '"two_organisation", "plan_efforts_owned"', None),
    ('label = { sv = "Kallad", en = "Invited" }', 'label = { sv = "Kallad" }', None),
    ('label = { sv = "Kallad", en = "Invited" }', 'label = { sv = "Kallad", eng = "Invited" }', None),
    ("[states.invited]", "[states.kallad_\u00e5]", None),
    ("days = 10", 'days = "10"', None),
    ('anchor = "next_meeting"', 'anchor = "meeting"', None),
    ('form = "meeting_outcome"', 'form = "none"', None),
    ('started_by = ["create"]', 'started_by = ["establish_plan"]', None),
]


def _refusal_of_the_example_with(tmp_path, old: str, new: str) -> str:
    """What the loader says of the guide's example with old (found once) written as new."""
    text = EXAMPLE.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    path = tmp_path / EXAMPLE.name
    path.write_text(text.replace(old, new), encoding="utf-8")
    with pytest.raises(WorkflowError) as refused:
        load_workflow_file(path)
    return str(refused.value)


@pytest.mark.parametrize(("old", "new", "_"), MISTAKES)
def test_the_refusals_the_guide_quotes_are_the_loaders(tmp_path, old, new, _):
    refused = _refusal_of_the_example_with(tmp_path, old, new)
    message = refused.removeprefix("sip_aldre.toml: ")
    # The guide quotes it in full, or up to "(known: ...)".
    quoted = message.split(" (known: ")[0]
    assert f"`{quoted}" in GUIDE, message


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ('occasion = "elderly_home_care"', 'occasion = "\u00e4ldreomsorg"', "occasion"),
        ('name = "prepare_meeting"', 'name = "f\u00f6rbered_m\u00f6tet"', "reminders[0].name"),
    ],
    ids=["occasion", "reminder-name"],
)
def test_every_name_the_file_gives_is_refused_with_the_one_rule_and_the_name_given(tmp_path, old, new, key):
    # The occasion's and a reminder's name said "a lower-case name of at most 40 letters", which
    # "\u00e4ldreomsorg" is in Swedish, without the name given: the coordinator saw nothing to change.
    refused = _refusal_of_the_example_with(tmp_path, old, new)
    given = new.split(" = ")[1].strip('"')
    assert refused == f"sip_aldre.toml: {key}: {definition._NAME_RULE}, got {given!r}"


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        (
            'label = { sv = "F\u00f6rbered SIP-m\u00f6tet", en',
            'label = { sv = "F\u00f6rbered\\nSIP-m\u00f6tet", en',
            "reminders.prepare_meeting.label.sv",
        ),
        (
            'label = { sv = "Kallad", en = "Invited" }',
            'label = { sv = """Kallad\ntill m\u00f6te""", en = "Invited" }',
            "states.invited.label.sv",
        ),
    ],
    ids=["escaped-line-break-in-a-mail-subject", "multi-line-text"],
)
def test_a_label_over_two_lines_is_refused_naming_its_key(tmp_path, old, new, key):
    # Valid TOML the check said ok to: the reminder's label is its mail's subject, and the dispatcher's
    # EmailMessage refuses a line break in a header, so every such reminder failed when it fell due.
    refused = _refusal_of_the_example_with(tmp_path, old, new)
    assert refused == f"sip_aldre.toml: {key}: must be one line, without line breaks or tabs"
