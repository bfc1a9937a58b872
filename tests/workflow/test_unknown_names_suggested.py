"""A name a workflow file gets wrong (a typo in a state, a guard, a key ...) is refused with what to write
instead: the closest known name, when one is close, and every known one, so that a county's coordinator
editing the file needs no list from the code."""

from __future__ import annotations

import pytest

from sipflow.areas import load_areas
from sipflow.config import PROJECT_ROOT
from sipflow.workflow.definition import WorkflowError, load_workflow_file
from sipflow.workflow.registry import GUARDS

load_areas()

SIP = (PROJECT_ROOT / "workflows" / "sip.toml").read_text(encoding="utf-8")
STATES = (
    "cancelled, closed, consent_given, declined, follow_up, invited, meeting_held, plan_established, "
    "preparing, requested, withdrawn"
)

# (old text of sip.toml, new text, the message after "sip.toml: ")
MISTAKES = [
    (
        'source = ["invited"]\ndest = "meeting_held"',
        'source = ["invted"]\ndest = "meeting_held"',
        f"transitions.hold_meeting.source: unknown state 'invted'; did you mean 'invited'? (known: {STATES})",
    ),
    (
        'dest = "invited"',
        'dest = "kallad"',
        f"transitions.send_kallelse.dest: unknown state 'kallad' (known: {STATES})",
    ),
    (
        'conditions = ["consent_valid"]\nparties',
        'conditions = ["consent_vaild"]\nparties',
        "transitions.give_consent.conditions: unknown guard 'consent_vaild'; did you mean 'consent_valid'? "
        f"(known: {', '.join(sorted(GUARDS))})",
    ),
    (
        'form = "kallelse"',
        'form = "invitation"',
        "transitions.send_kallelse.form: unknown form 'invitation' (known: consent, consent_declined, "
        "kallelse, meeting_outcome, none, plan, preparation, reason)",
    ),
    (
        'until = "end_of_day"',
        'until = "end-of-day"',
        "deadlines.kallelse.until: unknown end 'end-of-day'; did you mean 'end_of_day'? "
        "(known: end_of_day, same_time)",
    ),
    (
        'met_by = ["send_kallelse"]',
        'met_by = ["send_kalelse"]',
        "deadlines.kallelse.met_by: unknown trigger 'send_kalelse'; did you mean 'send_kallelse'? (known: "
        "cancel, close, decline_consent, establish_plan, follow_up, give_consent, hold_meeting, revise_plan, "
        "send_kallelse, start_preparation, withdraw_consent)",
    ),
    # A key of a step is named by the step's trigger, not by its place among the steps.
    (
        'conditions = ["consent_valid"]\nparties',
        'condition = ["consent_valid"]\nparties',
        "transitions.give_consent: unknown key 'condition'; did you mean 'conditions'? (known: closes, "
        "conditions, dest, effects, form, label, parties, source, trigger, withdraws_consent)",
    ),
    (
        "final = true\nretention_years = 5",
        "final = true\nretention_year = 5",
        "states.declined: unknown key 'retention_year'; did you mean 'retention_years'? "
        "(known: entered_in_error, final, label, retention_years)",
    ),
]


@pytest.mark.parametrize(("old", "new", "message"), MISTAKES, ids=[m[2].split(":")[0] for m in MISTAKES])
def test_a_wrong_name_is_refused_with_the_names_to_write_instead(tmp_path, old, new, message):
    assert SIP.count(old) == 1, old
    path = tmp_path / "sip.toml"
    path.write_text(SIP.replace(old, new), encoding="utf-8")
    with pytest.raises(WorkflowError) as refused:
        load_workflow_file(path)
    assert str(refused.value) == f"sip.toml: {message}"


def test_a_reminder_naming_an_unknown_template_is_told_the_templates(tmp_path):
    reminder = (
        '\n[[reminders]]\nname = "prepare"\nlabel = { sv = "Förbered", en = "Prepare" }\n'
        'anchor = "next_meeting"\noffset_days = -3\nrecipients = ["initiator"]\ntemplate = "reminder"\n'
    )
    path = tmp_path / "sip.toml"
    path.write_text(SIP + reminder, encoding="utf-8")
    with pytest.raises(WorkflowError) as refused:
        load_workflow_file(path)
    assert str(refused.value).startswith(
        "sip.toml: reminders.prepare.template: unknown template 'reminder'; did you mean 'case_reminder'? "
        "(known: case_reminder"
    )
