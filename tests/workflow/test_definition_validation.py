"""A broken workflow file is refused at load with a message naming the file and the key.

Each case copies workflows/sip.toml, changes one thing and loads the copy from tmp_path.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from sipflow.areas import load_areas
from sipflow.config import PROJECT_ROOT
from sipflow.stats.services import settings_from
from sipflow.workflow.definition import WorkflowError, load_workflow_file
from sipflow.workflow.engine import WorkflowRegistry, refuse_clash
from sipflow.workflow.registry import EFFECTS, GUARDS

# The workflow files name guards, effects and inputs the areas register.
load_areas()

WORKFLOWS_DIR = PROJECT_ROOT / "workflows"
SIP = (WORKFLOWS_DIR / "sip.toml").read_text(encoding="utf-8")


def in_transition(trigger: str, old: str, new: str):
    """An edit of the [[transitions]] block of trigger only."""

    def edit(text: str) -> str:
        head, *blocks = text.split("[[transitions]]")
        hits = [i for i, b in enumerate(blocks) if re.search(rf'^trigger = "{trigger}"$', b, re.M)]
        assert len(hits) == 1, trigger
        block = blocks[hits[0]]
        assert block.count(old) == 1, (trigger, old)
        blocks[hits[0]] = block.replace(old, new)
        return "[[transitions]]".join([head, *blocks])

    return edit


def replace_once(old: str, new: str):
    def edit(text: str) -> str:
        assert text.count(old) == 1, old
        return text.replace(old, new)

    return edit


def without_close(text: str) -> str:
    """The file without its close step and closed state: after the meeting nothing ends the case."""
    start = text.index('[[transitions]]\ntrigger = "close"')
    text = text[:start] + text[text.index('[[transitions]]\ntrigger = "withdraw') :]
    closed = (
        '[states.closed]\nlabel = { sv = "Avslutad", en = "Closed" }\nfinal = true\nretention_years = 10\n'
    )
    assert text.count(closed) == 1
    return text.replace(closed, "")


WITHDRAW_SOURCES = re.search(
    r'^source = \[.*"follow_up"\]$',
    SIP.split('trigger = "withdraw_consent"', 1)[1],
    re.M,
).group(0)

# (name, edit, the key the message must name, a fragment it must contain)
BROKEN = [
    (
        "unknown-source-state",
        in_transition("establish_plan", 'source = ["meeting_held"]', 'source = ["meeting_hold"]'),
        "transitions.establish_plan.source",
        "meeting_hold",
    ),
    (
        "unknown-dest-state",
        in_transition("send_kallelse", 'dest = "invited"', 'dest = "inviteed"'),
        "transitions.send_kallelse.dest",
        "inviteed",
    ),
    (
        "unknown-guard",
        in_transition(
            "hold_meeting",
            'conditions = ["consent_valid", "meeting_outcome_recorded"]',
            'conditions = ["consent_valid", "moon_is_full"]',
        ),
        "transitions.hold_meeting.conditions",
        "moon_is_full",
    ),
    (
        "unknown-effect",
        in_transition("send_kallelse", 'effects = ["plan_meeting"]', 'effects = ["send_fax"]'),
        "transitions.send_kallelse.effects",
        "send_fax",
    ),
    (
        "unknown-form",
        in_transition("give_consent", 'form = "consent"', 'form = "questionnaire"'),
        "transitions.give_consent.form",
        "questionnaire",
    ),
    (
        "unknown-party",
        in_transition("cancel", 'parties = ["initiator"]', 'parties = ["initiator", "mayor"]'),
        "transitions.cancel.parties",
        "mayor",
    ),
    (
        "unknown-top-level-key",
        replace_once('initial = "requested"\n', 'initial = "requested"\ncolour = "blue"\n'),
        "(top level)",
        "colour",
    ),
    (
        "state-without-withdraw-consent",
        replace_once(WITHDRAW_SOURCES, WITHDRAW_SOURCES.replace(', "follow_up"]', "]")),
        "states.follow_up",
        "withdraw_consent",
    ),
    (
        # Before the consent step no consent is in force: withdrawing it would end a SIP that has none.
        "withdrawal-before-the-consent",
        replace_once(WITHDRAW_SOURCES, WITHDRAW_SOURCES.replace("source = [", 'source = ["requested", ')),
        "transitions.withdraw_consent.source",
        "no consent can be in force in 'requested'",
    ),
    (
        "deadline-met-by-unknown-trigger",
        replace_once('met_by = ["send_kallelse"]', 'met_by = ["send_kalelse"]'),
        "deadlines.kallelse.met_by",
        "send_kalelse",
    ),
    (
        "deadline-started-by-unknown-trigger",
        replace_once(
            'started_by = ["establish_plan", "revise_plan"]', 'started_by = ["establish_plan", "revize"]'
        ),
        "deadlines.follow_up.started_by",
        "revize",
    ),
    (
        "occasion-not-a-name",
        replace_once('occasion = "other_need"', 'occasion = "Other need!"'),
        "occasion",
        "lower-case name",
    ),
    (
        "unknown-initial-state",
        replace_once('initial = "requested"', 'initial = "started"'),
        "initial",
        "started",
    ),
    (
        "transition-out-of-a-final-state",
        in_transition(
            "close", 'source = ["plan_established", "follow_up"]', 'source = ["follow_up", "closed"]'
        ),
        "transitions.close.source",
        "closed",
    ),
    (
        "final-state-without-retention-years",
        replace_once("final = true\nretention_years = 5\n", "final = true\n"),
        "states.declined.retention_years",
        "required for a final state",
    ),
    (
        "retention-years-zero",
        replace_once("retention_years = 1\n", "retention_years = 0\n"),
        "states.cancelled.retention_years",
        "from 1 to 100, got 0",
    ),
    (
        "retention-years-over-a-hundred",
        replace_once("retention_years = 5\n", "retention_years = 101\n"),
        "states.declined.retention_years",
        "from 1 to 100, got 101",
    ),
    (
        "retention-years-not-whole",
        replace_once("retention_years = 5\n", "retention_years = 5.5\n"),
        "states.declined.retention_years",
        "whole number",
    ),
    (
        "retention-years-as-text",
        replace_once("retention_years = 5\n", 'retention_years = "5"\n'),
        "states.declined.retention_years",
        "whole number",
    ),
    (
        "retention-years-as-a-flag",
        replace_once("retention_years = 1\n", "retention_years = true\n"),
        "states.cancelled.retention_years",
        "whole number",
    ),
    (
        "retention-years-on-an-active-state",
        replace_once(
            '[states.follow_up]\nlabel = { sv = "Uppföljning", en = "Follow-up" }\n',
            '[states.follow_up]\nlabel = { sv = "Uppföljning", en = "Follow-up" }\nretention_years = 3\n',
        ),
        "states.follow_up.retention_years",
        "not final",
    ),
    (
        "entered-in-error-on-an-active-state",
        replace_once(
            '[states.follow_up]\nlabel = { sv = "Uppföljning", en = "Follow-up" }\n',
            '[states.follow_up]\nlabel = { sv = "Uppföljning", en = "Follow-up" }\nentered_in_error = true\n',
        ),
        "states.follow_up.entered_in_error",
        "only a final state",
    ),
    (
        "entered-in-error-not-a-flag",
        replace_once("entered_in_error = true\n", 'entered_in_error = "yes"\n'),
        "states.cancelled.entered_in_error",
        "true or false",
    ),
    (
        "closing-into-a-state-entered-in-error",
        replace_once(
            '[states.closed]\nlabel = { sv = "Avslutad", en = "Closed" }\n',
            '[states.closed]\nlabel = { sv = "Avslutad", en = "Closed" }\nentered_in_error = true\n',
        ),
        "transitions.close.closes",
        "entered in error",
    ),
    (
        "withdrawing-into-a-state-entered-in-error",
        replace_once(
            '[states.withdrawn]\nlabel = { sv = "Samtycke återkallat", en = "Consent withdrawn" }\n',
            '[states.withdrawn]\nlabel = { sv = "Samtycke återkallat", en = "Consent withdrawn" }\n'
            "entered_in_error = true\n",
        ),
        "transitions.withdraw_consent.withdraws_consent",
        "entered in error",
    ),
    (
        "deadline-measured-by-an-unknown-indicator",
        replace_once('indicator = "kallelse"', 'indicator = "kalelse"'),
        "deadlines.kallelse.indicator",
        "kallelse, follow_up",
    ),
    (
        "deadline-days-beyond-ten-years",
        replace_once("days = 21\n", "days = 3661\n"),
        "deadlines.kallelse.days",
        "from 0 to 3660, got 3661",
    ),
    (
        "deadline-days-too-large-for-a-date",
        replace_once("days = 21\n", "days = 99999999999999999999\n"),
        "deadlines.kallelse.days",
        "from 0 to 3660",
    ),
    (
        "deadline-days-negative",
        replace_once("days = 21\n", "days = -1\n"),
        "deadlines.kallelse.days",
        "from 0 to 3660",
    ),
    (
        "state-without-swedish-label",
        replace_once('label = { sv = "Förberedelse", en = "Preparing" }', 'label = { en = "Preparing" }'),
        "states.preparing.label",
        "sv",
    ),
    # A value of the wrong type is refused naming its key, not a traceback of the loader.
    (
        "dest-as-a-list",
        in_transition("send_kallelse", 'dest = "invited"', 'dest = ["invited"]'),
        "transitions.send_kallelse.dest",
        "one state name",
    ),
    (
        "form-as-a-list",
        in_transition("send_kallelse", 'form = "kallelse"', 'form = ["kallelse"]'),
        "transitions.send_kallelse.form",
        "one form name",
    ),
    (
        "initial-as-a-list",
        replace_once('initial = "requested"', 'initial = ["requested"]'),
        "initial",
        "one state name",
    ),
    (
        "indicator-as-a-list",
        replace_once('indicator = "kallelse"', 'indicator = ["kallelse"]'),
        "deadlines.kallelse.indicator",
        "kallelse, follow_up",
    ),
    (
        "transitions-as-named-tables",
        lambda text: re.sub(r'\[\[transitions\]\]\ntrigger = "(\w+)"', r"[transitions.\1]", text),
        "transitions",
        "[[transitions]]",
    ),
    (
        "a-state-that-is-no-section",
        replace_once("[states.preparing]\n", '[states.other]\npreparing = "x"\n[states.preparing]\n'),
        "states.other",
        "unknown key 'preparing'",
    ),
    # A flag written as text is not taken as true.
    (
        "final-as-text",
        replace_once(
            '[states.preparing]\nlabel = { sv = "Förberedelse", en = "Preparing" }\n',
            '[states.preparing]\nlabel = { sv = "Förberedelse", en = "Preparing" }\nfinal = "false"\n',
        ),
        "states.preparing.final",
        "true or false",
    ),
    (
        "working-days-as-text",
        replace_once("days = 21\n", 'days = 21\nworking_days = "no"\n'),
        "deadlines.kallelse.working_days",
        "true or false",
    ),
    # The names are kept in columns of 40 characters and in the pages' addresses.
    (
        "state-name-longer-than-forty",
        lambda text: text.replace("plan_established", "plan_established_by_every_organisation_taking_part"),
        "states.plan_established_by_every_organisation_taking_part",
        "at most 40",
    ),
    (
        "trigger-name-longer-than-forty",
        lambda text: text.replace('"revise_plan"', '"revise_the_plan_after_the_follow_up_meeting_was_held"'),
        "transitions[7].trigger",
        "at most 40",
    ),
    (
        "trigger-as-a-number",
        in_transition("cancel", 'trigger = "cancel"', "trigger = 5"),
        "transitions[10].trigger",
        "lower-case name",
    ),
    (
        "workflow-name-with-spaces",
        replace_once('name = "sip"', 'name = "SIP region"'),
        "name",
        "lower-case name",
    ),
    (
        "deadline-name-with-spaces",
        replace_once("[deadlines.kallelse]", '[deadlines."kallelse inom tre veckor"]'),
        "deadlines.kallelse inom tre veckor",
        "lower-case name",
    ),
    # The graph: every state reached, and every active state able to end without consent withdrawal.
    (
        "a-state-nothing-leads-to",
        in_transition("start_preparation", 'dest = "preparing"', 'dest = "invited"'),
        "states.preparing",
        "no transition leads here",
    ),
    (
        "a-case-can-only-wait-for-withdrawal",
        without_close,
        "states.meeting_held",
        "only consent withdrawal",
    ),
    (
        "two-deadlines-measured-as-one-indicator",
        replace_once(
            "[deadlines.follow_up]\n",
            "[deadlines.kallelse_internal]\n"
            'label = { sv = "Intern kallelse", en = "Internal notice" }\n'
            'indicator = "kallelse"\n'
            'from = "requested_at"\n'
            "days = 7\n"
            'started_by = ["create"]\n'
            'met_by = ["send_kallelse"]\n\n'
            "[deadlines.follow_up]\n",
        ),
        "deadlines.kallelse_internal.indicator",
        "deadlines.kallelse is measured as kallelse already",
    ),
    (
        "deadline-met-by-nothing",
        replace_once('met_by = ["send_kallelse"]\n', ""),
        "deadlines.kallelse.met_by",
        "at least one step",
    ),
    (
        "deadline-started-by-nothing",
        replace_once('started_by = ["establish_plan", "revise_plan"]', "started_by = []"),
        "deadlines.follow_up.started_by",
        "starts it",
    ),
    # An effect reading what another wrote in the same step: without it before, no KVÅ code was recorded.
    (
        "codes-recorded-before-the-meeting-is-marked-held",
        in_transition(
            "hold_meeting",
            'effects = ["mark_meeting_held", "record_codes", "carry_decisions_into_plan"]',
            'effects = ["record_codes", "mark_meeting_held", "carry_decisions_into_plan"]',
        ),
        "transitions.hold_meeting.effects",
        "'record_codes' must come after 'mark_meeting_held'",
    ),
    (
        "decisions-carried-without-a-meeting-marked-held",
        in_transition(
            "follow_up",
            'effects = ["mark_meeting_held", "record_codes", "carry_decisions_into_plan"]',
            'effects = ["carry_decisions_into_plan"]',
        ),
        "transitions.follow_up.effects",
        "'carry_decisions_into_plan' must come after 'mark_meeting_held'",
    ),
    (
        "version-too-large-for-the-database",
        replace_once("version = 1", "version = 3000000000"),
        "version",
        "at most 2147483647",
    ),
    (
        "english-label-as-a-number",
        replace_once('en = "Preparing"', "en = 5"),
        "states.preparing.label.en",
        "text",
    ),
    # A label without its English text showed the Swedish one on the English pages, and nothing said so.
    (
        "state-without-english-label",
        replace_once('label = { sv = "Förberedelse", en = "Preparing" }', 'label = { sv = "Förberedelse" }'),
        "states.preparing.label",
        "has no text in en",
    ),
    (
        "transition-without-english-label",
        in_transition(
            "send_kallelse",
            'label = { sv = "Registrera kallelse", en = "Record notice of meeting" }',
            'label = { sv = "Registrera kallelse" }',
        ),
        "transitions.send_kallelse.label",
        "has no text in en",
    ),
    (
        "deadline-without-english-label",
        replace_once('label = { sv = "Kallelse", en = "Notice of meeting" }', 'label = { sv = "Kallelse" }'),
        "deadlines.kallelse.label",
        "has no text in en",
    ),
    (
        "workflow-without-english-label",
        replace_once('label = { sv = "SIP", en = "SIP" }', 'label = { sv = "SIP" }'),
        "label",
        "has no text in en",
    ),
    (
        "english-label-blank",
        replace_once('en = "Preparing"', 'en = "  "'),
        "states.preparing.label.en",
        "text",
    ),
    # A typo in a language's key (eng for en) left the English pages without the text too.
    (
        "label-with-an-unknown-language",
        in_transition(
            "send_kallelse",
            'en = "Record notice of meeting"',
            'eng = "Record notice of meeting"',
        ),
        "transitions.send_kallelse.label.eng",
        "unknown language 'eng' (known: sv, en)",
    ),
]


@pytest.mark.parametrize(
    ("edit", "key", "fragment"),
    [pytest.param(edit, key, fragment, id=name) for name, edit, key, fragment in BROKEN],
)
def test_broken_file_is_refused_naming_file_and_key(tmp_path, edit, key, fragment):
    path = tmp_path / "broken_sip.toml"
    changed = edit(SIP)
    assert changed != SIP
    path.write_text(changed, encoding="utf-8")
    with pytest.raises(WorkflowError) as refused:
        load_workflow_file(path, GUARDS, EFFECTS)
    message = str(refused.value)
    assert message.startswith("broken_sip.toml: "), message
    assert f": {key}: " in message, message
    assert fragment in message, message


def test_toml_nested_too_deeply_is_refused_naming_the_file(tmp_path):
    # tomllib reads nesting recursively: a RecursionError traceback at the check and at the start before.
    path = tmp_path / "deep.toml"
    path.write_text("a = " + "[" * 10_000 + "]" * 10_000 + "\n", encoding="utf-8")
    with pytest.raises(WorkflowError) as refused:
        load_workflow_file(path, GUARDS, EFFECTS)
    assert str(refused.value) == "deep.toml: not valid TOML: nested too deeply"


def test_invalid_toml_is_refused_naming_the_file(tmp_path):
    path = tmp_path / "garbled.toml"
    path.write_text(SIP + "\nthis is = = not toml\n", encoding="utf-8")
    with pytest.raises(WorkflowError) as refused:
        load_workflow_file(path, GUARDS, EFFECTS)
    assert str(refused.value).startswith("garbled.toml: not valid TOML"), str(refused.value)
    assert "line" in str(refused.value)


@pytest.mark.parametrize(("encoding", "line"), [("latin-1", 1), ("utf-16", 1)], ids=["latin-1", "utf-16"])
def test_a_file_not_saved_as_utf8_is_refused_naming_the_file(tmp_path, encoding, line):
    # Saved by a Windows editor in its own encoding: a traceback before, at the check and at the start.
    path = tmp_path / "sip.toml"
    path.write_bytes(SIP.encode(encoding))
    with pytest.raises(WorkflowError) as refused:
        load_workflow_file(path)
    assert str(refused.value) == f"sip.toml: not UTF-8 text (line {line}): save the file as UTF-8"


def test_a_byte_order_mark_is_read_past(tmp_path):
    # Notepad's "UTF-8" puts one first; TOML itself has none, and the message was "Invalid statement".
    path = tmp_path / "sip.toml"
    path.write_bytes(b"\xef\xbb\xbf" + SIP.encode("utf-8"))
    assert load_workflow_file(path).name == "sip"


def test_a_folder_with_a_broken_file_is_refused(tmp_path):
    for path in WORKFLOWS_DIR.glob("*.toml"):
        shutil.copy(path, tmp_path / path.name)
    (tmp_path / "zz_broken.toml").write_text(
        SIP.replace('"consent_valid"', '"consent_vaild"'), encoding="utf-8"
    )
    with pytest.raises(WorkflowError, match=r"^zz_broken\.toml: .*consent_vaild"):
        WorkflowRegistry.from_folder(tmp_path)


def test_the_same_name_and_version_twice_is_refused(tmp_path):
    shutil.copy(WORKFLOWS_DIR / "sip.toml", tmp_path / "sip.toml")
    shutil.copy(WORKFLOWS_DIR / "sip.toml", tmp_path / "sip_v1.toml")
    with pytest.raises(WorkflowError, match=r"^sip_v1\.toml: version: .*is also defined in sip\.toml"):
        WorkflowRegistry.from_folder(tmp_path)


def _skane_sip(name: str = "a_skane") -> str:
    """sip.toml as a county's own workflow that keeps the national one's occasion (other_need)."""
    return SIP.replace('name = "sip"', f'name = "{name}"').replace(
        'label = { sv = "SIP", en = "SIP" }',
        'label = { sv = "SIP Region Skåne (psykisk ohälsa)", en = "SIP Region Skåne (mental illness)" }',
    )


def test_a_second_workflow_declaring_another_workflows_occasion_is_refused(tmp_path):
    # The cases keep only the occasion: statistics by occasion counted the national sip cases and the
    # county's in one row, and named it by whichever file sorted first (here the county's label).
    for path in WORKFLOWS_DIR.glob("*.toml"):
        shutil.copy(path, tmp_path / path.name)
    (tmp_path / "a_skane.toml").write_text(_skane_sip(), encoding="utf-8")
    with pytest.raises(WorkflowError) as refused:
        WorkflowRegistry.from_folder(tmp_path)
    assert str(refused.value) == (
        "sip.toml: occasion: 'other_need' is already the occasion of workflow 'a_skane' (a_skane.toml): "
        "each workflow needs an occasion of its own (statistics by occasion would count both in one row)"
    )


def test_the_versions_of_one_workflow_share_its_occasion(tmp_path):
    newer = tmp_path / "sip_v2.toml"
    newer.write_text(SIP.replace("version = 1", "version = 2", 1), encoding="utf-8")
    # Checked as a folder is, without a registry (which would publish the copy to the whole process).
    refuse_clash(load_workflow_file(newer), [load_workflow_file(WORKFLOWS_DIR / "sip.toml")])
    with pytest.raises(WorkflowError, match=r"^a_skane\.toml: occasion: 'other_need' .* \(sip_v2\.toml\)"):
        (tmp_path / "a_skane.toml").write_text(_skane_sip(), encoding="utf-8")
        refuse_clash(load_workflow_file(tmp_path / "a_skane.toml"), [load_workflow_file(newer)])


def test_a_second_workflow_keeping_another_workflows_label_is_refused(tmp_path):
    # A copy of sip.toml with a name and an occasion of its own but the label kept: Ny SIP offered two
    # kinds of SIP both called "SIP", and the statistics by occasion named two rows "SIP".
    for path in WORKFLOWS_DIR.glob("*.toml"):
        shutil.copy(path, tmp_path / path.name)
    (tmp_path / "sip_hemsjukvard.toml").write_text(
        SIP.replace('name = "sip"', 'name = "sip_hemsjukvard"').replace(
            'occasion = "other_need"', 'occasion = "home_health_care"'
        ),
        encoding="utf-8",
    )
    with pytest.raises(WorkflowError) as refused:
        WorkflowRegistry.from_folder(tmp_path)
    assert str(refused.value) == (
        "sip_hemsjukvard.toml: label.sv: 'SIP' is already the label of workflow 'sip' (sip.toml): each "
        "workflow needs a label of its own in every language (staff choose the kind of SIP by it, and the "
        "statistics name its row by it)"
    )


def test_a_label_differing_only_in_letter_case_or_in_one_language_is_refused(tmp_path):
    national = load_workflow_file(WORKFLOWS_DIR / "sip.toml")
    path = tmp_path / "sip_hemsjukvard.toml"
    path.write_text(
        SIP.replace('name = "sip"', 'name = "sip_hemsjukvard"')
        .replace('occasion = "other_need"', 'occasion = "home_health_care"')
        .replace('label = { sv = "SIP", en = "SIP" }', 'label = { sv = "SIP hemsjukvård", en = " sip " }'),
        encoding="utf-8",
    )
    kept = r"^sip_hemsjukvard\.toml: label\.en: ' sip ' is already the label"
    with pytest.raises(WorkflowError, match=kept):
        refuse_clash(load_workflow_file(path), [national])
    # The versions of one workflow keep its label.
    newer = tmp_path / "sip_v2.toml"
    newer.write_text(SIP.replace("version = 1", "version = 2", 1), encoding="utf-8")
    refuse_clash(load_workflow_file(newer), [national])


@pytest.mark.parametrize("path", sorted(WORKFLOWS_DIR.glob("*.toml")), ids=lambda p: p.name)
def test_shipped_file_loads(path: Path):
    workflow = load_workflow_file(path, GUARDS, EFFECTS)
    # A later version of a workflow is a file of its own: sip_child.toml, sip_child_v2.toml.
    assert path.stem in (workflow.name, f"{workflow.name}_v{workflow.version}")
    assert workflow.initial in workflow.states
    assert workflow.transitions


def test_shipped_folder_loads_every_file():
    registry = WorkflowRegistry.from_folder(WORKFLOWS_DIR)
    # A later version is a file of its own (sip_child_v2.toml): one name, its versions.
    assert registry.names() == sorted({p.stem.split("_v")[0] for p in WORKFLOWS_DIR.glob("*.toml")})


def test_a_county_names_an_occasion_of_its_own_in_the_file(tmp_path):
    path = tmp_path / "sip_youth.toml"
    path.write_text(
        SIP.replace('name = "sip"', 'name = "sip_youth"').replace(
            'occasion = "other_need"', 'occasion = "youth_reception"'
        ),
        encoding="utf-8",
    )
    assert load_workflow_file(path, GUARDS, EFFECTS).occasion == "youth_reception"


def test_the_statistics_read_the_deadlines_a_file_marks_as_their_indicators(tmp_path, app):
    # A county names its kallelse deadline its own way: the lead times still measure it.
    (tmp_path / "sip_county.toml").write_text(
        SIP.replace('name = "sip"', 'name = "sip_county"')
        .replace("[deadlines.kallelse]", "[deadlines.kallelse_lag]")
        .replace('indicator = "follow_up"\n', ""),
        encoding="utf-8",
    )
    settings = settings_from(app.config, WorkflowRegistry.from_folder(tmp_path))
    assert (settings.kallelse_deadlines, settings.follow_up_deadlines) == (
        (("sip_county", 1, "kallelse_lag"),),
        (),
    )
    shipped = settings_from(app.config, WorkflowRegistry.from_folder(WORKFLOWS_DIR))
    assert ("sip", 1, "kallelse") in shipped.kallelse_deadlines
    assert ("sip", 1, "follow_up") in shipped.follow_up_deadlines
