"""A deadline counting from the follow-up date starts at a step that sets it (form = "plan"): a county's file
starting its follow-up deadline at the meeting (`started_by = ["hold_meeting"]`) or at the start passed the
check as ok, and no case ever had the deadline, with no word anywhere (the case has no follow-up date before
a plan gives it one). A reminder counting from that date in a file without a plan step would never go."""

from __future__ import annotations

import shutil

import pytest
import support
from sqlmodel import select

from sipflow.areas import load_areas
from sipflow.cases.models import Deadline
from sipflow.config import PROJECT_ROOT
from sipflow.workflow.definition import WorkflowError, load_workflow_file
from sipflow.workflow.engine import WorkflowRegistry

load_areas()

DISCHARGE = (PROJECT_ROOT / "workflows" / "sip_discharge.toml").read_text(encoding="utf-8")
PLAN_STEPS = 'started_by = ["establish_plan", "revise_plan"]'


def lpt_file(started_by: str = PLAN_STEPS) -> str:
    """A county's SIP at discharge from compulsory psychiatric care (LPT/LRV), its follow-up deadline started
    by started_by."""
    text = DISCHARGE.replace('name = "sip_discharge"', 'name = "sip_lpt"')
    text = text.replace('occasion = "discharge"', 'occasion = "discharge_lpt"')
    text = text.replace(
        '{ sv = "SIP vid utskrivning", en = "SIP at discharge" }',
        '{ sv = "SIP vid utskrivning från LPT/LRV", en = "SIP at discharge from compulsory care" }',
    )
    assert text.count(PLAN_STEPS) == 1
    return text.replace(PLAN_STEPS, started_by)


@pytest.mark.parametrize(
    ("started_by", "step"),
    [
        ('started_by = ["hold_meeting"]', "'hold_meeting' (form 'meeting_outcome')"),
        ('started_by = ["create"]', "the start of the SIP (create)"),
        ('started_by = ["establish_plan", "follow_up"]', "'follow_up' (form 'meeting_outcome')"),
    ],
)
def test_a_follow_up_deadline_started_by_a_step_without_the_plan_is_refused(tmp_path, started_by, step):
    path = tmp_path / "sip_lpt.toml"
    path.write_text(lpt_file(started_by), encoding="utf-8")
    with pytest.raises(WorkflowError) as refused:
        load_workflow_file(path)
    assert str(refused.value) == (
        "sip_lpt.toml: deadlines.follow_up.started_by: counts from follow_up_on, which only a step with form "
        f"'plan' sets, and {step} does not: the deadline would never be set; name the steps that set it: "
        'started_by = ["establish_plan", "revise_plan"]'
    )
    assert refused.value.line[1] == started_by


def test_a_follow_up_reminder_in_a_file_without_a_plan_step_is_refused(tmp_path):
    # A county recording its plan elsewhere: no plan step, so no case of the file gets a follow-up date.
    text = lpt_file().replace('form = "plan"', 'form = "none"')
    head, deadline = text.split("[deadlines.follow_up]")
    text = head + deadline[deadline.index("[[transitions]]") :]
    text += (
        '\n[[reminders]]\nname = "before_follow_up"\n'
        'label = { sv = "Uppföljning snart", en = "Follow-up soon" }\n'
        'anchor = "follow_up_on"\noffset_days = -7\nrecipients = ["huvudansvarig"]\n'
        'template = "case_reminder"\n'
    )
    path = tmp_path / "sip_lpt.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(WorkflowError) as refused:
        load_workflow_file(path)
    assert str(refused.value) == (
        "sip_lpt.toml: reminders.before_follow_up.anchor: counts from follow_up_on, which only a step with "
        "form 'plan' sets, and the file has no such step: no case would have the date, so the reminder "
        'would never go; add a step with form = "plan", or count from another anchor'
    )
    assert refused.value.line[1] == 'anchor = "follow_up_on"'


def test_the_county_file_as_written_sets_its_follow_up_deadline_at_the_plan(
    app, db_session, parties, make_person, now, tmp_path, monkeypatch
):
    folder = tmp_path / "workflows"
    folder.mkdir()
    shutil.copy(PROJECT_ROOT / "workflows" / "sip.toml", folder / "sip.toml")
    (folder / "sip_lpt.toml").write_text(lpt_file(), encoding="utf-8")
    registry = WorkflowRegistry.from_folder(folder)
    monkeypatch.setitem(app.extensions, "sipflow.workflows", registry)
    case = support.new_case(
        db_session,
        registry,
        parties.region_user,
        workflow="sip_lpt",
        person=make_person(),
        unit_ids=[parties.municipality.id],
        now=now,
    )
    db_session.commit()
    for trigger in ("give_consent", "start_preparation", "send_kallelse", "hold_meeting", "establish_plan"):
        support.fire(db_session, registry, parties.region_user, case, trigger, now=now)
    kinds = db_session.exec(select(Deadline.kind).where(Deadline.case_id == case.id)).all()
    assert sorted(kinds) == ["follow_up", "kallelse"]
