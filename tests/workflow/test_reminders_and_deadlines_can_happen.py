"""A workflow file whose reminder or deadline can never do what it says is refused at load: a reminder
counting from the next meeting in a file with no step that books one (no kallelse form) never goes, and a
deadline none of whose meeting steps can come after a step that starts it is always missed. `workflow check`
passed both as ok, and the county learned it only when no reminder went out or every case missed its
deadline."""

from __future__ import annotations

import pytest

from sipflow.areas import load_areas
from sipflow.config import PROJECT_ROOT
from sipflow.workflow.definition import WorkflowError, load_workflow_file

load_areas()

SIP = (PROJECT_ROOT / "workflows" / "sip.toml").read_text(encoding="utf-8")
BEFORE_MEETING = (
    '\n[[reminders]]\nname = "before_meeting"\n'
    'label = { sv = "Mötet snart", en = "The meeting soon" }\n'
    'anchor = "next_meeting"\noffset_days = -2\nrecipients = ["huvudansvarig"]\n'
    'template = "case_reminder"\n'
)


def _county_file(tmp_path, text: str):
    path = tmp_path / "sip_lpt.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _without_kallelse() -> str:
    """sip.toml recording its meetings only once held: the kallelse step gone, the deadline it met too."""
    kallelse = SIP.index('[[transitions]]\ntrigger = "send_kallelse"')
    text = SIP[:kallelse] + SIP[SIP.index("[[transitions]]", kallelse + 1) :]
    head, deadline = text.split("[deadlines.kallelse]")
    text = head + deadline[deadline.index("[deadlines.follow_up]") :]
    held = 'source = ["invited"]\ndest = "meeting_held"'
    text = text.replace(held, held.replace("invited", "preparing"))
    head, states = text.split('[states.invited]\nlabel = { sv = "Kallad", en = "Invited" }\n')
    return (head + states).replace('"preparing", "invited"', '"preparing"')


def test_a_file_without_the_kallelse_loads_and_a_next_meeting_reminder_in_it_is_refused(tmp_path):
    assert load_workflow_file(_county_file(tmp_path, _without_kallelse())).reminders == ()
    with pytest.raises(WorkflowError) as refused:
        load_workflow_file(_county_file(tmp_path, _without_kallelse() + BEFORE_MEETING))
    assert str(refused.value) == (
        "sip_lpt.toml: reminders.before_meeting.anchor: counts from next_meeting, which only a step with "
        "form 'kallelse' sets, and the file has no such step: no case would have the date, so the reminder "
        'would never go; add a step with form = "kallelse", or count from another anchor'
    )
    assert refused.value.line[1] == 'anchor = "next_meeting"'


def test_a_next_meeting_reminder_beside_the_kallelse_loads(tmp_path):
    workflow = load_workflow_file(_county_file(tmp_path, SIP + BEFORE_MEETING))
    assert [reminder.anchor for reminder in workflow.reminders] == ["next_meeting"]


@pytest.mark.parametrize(
    ("written", "message"),
    [
        # Met by the kallelse, started only once the plan is established: the kallelse lies behind the case.
        (
            'started_by = ["establish_plan"]\nmet_by = ["send_kallelse"]',
            "none of its steps can come after 'establish_plan', which leads to 'plan_established': the "
            "deadline would always be missed; name in met_by a step that can come after it: "
            'met_by = ["follow_up"] (or "revise_plan")',
        ),
        (
            'started_by = ["create", "hold_meeting"]\nmet_by = ["send_kallelse"]',
            "none of its steps can come after 'hold_meeting', which leads to 'meeting_held': the deadline "
            "would always be missed; name in met_by a step that can come after it: "
            'met_by = ["establish_plan"] (or "follow_up", "revise_plan")',
        ),
    ],
)
def test_a_deadline_its_steps_cannot_meet_after_it_starts_is_refused(tmp_path, written, message):
    text = SIP.replace('started_by = ["create"]\nmet_by = ["send_kallelse"]', written)
    assert text != SIP
    with pytest.raises(WorkflowError) as refused:
        load_workflow_file(_county_file(tmp_path, text))
    assert str(refused.value) == f"sip_lpt.toml: deadlines.kallelse.met_by: {message}"
    assert refused.value.line[1] == 'met_by = ["send_kallelse"]'


def test_the_shipped_workflows_load():
    for path in sorted((PROJECT_ROOT / "workflows").glob("*.toml")):
        assert load_workflow_file(path).deadlines
