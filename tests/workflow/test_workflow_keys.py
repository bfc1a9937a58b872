"""What differs between workflows is a key in the file: a county adds a kind of SIP without a code change."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import support
from sqlmodel import select

from sipflow.areas import load_areas
from sipflow.cases import services
from sipflow.cases.models import Deadline
from sipflow.clock import end_of_local_day, first_working_day, to_local
from sipflow.config import PROJECT_ROOT
from sipflow.errors import InvalidInput
from sipflow.workflow.definition import WorkflowError, load_workflow_file
from sipflow.workflow.engine import WorkflowRegistry

# The workflow files name guards, effects and inputs the areas register.
load_areas()

WORKFLOWS_DIR = PROJECT_ROOT / "workflows"
SIP = (WORKFLOWS_DIR / "sip.toml").read_text(encoding="utf-8")
DISCHARGE = (WORKFLOWS_DIR / "sip_discharge.toml").read_text(encoding="utf-8")


def _registry(tmp_path, name: str, text: str) -> WorkflowRegistry:
    folder = tmp_path / "workflows"
    folder.mkdir()
    (folder / f"{name}.toml").write_text(text, encoding="utf-8")
    return WorkflowRegistry.from_folder(folder)


def _youth_discharge() -> str:
    text = DISCHARGE.replace('name = "sip_discharge"', 'name = "sip_youth_discharge"')
    return text.replace('occasion = "discharge"', 'occasion = "youth_psychiatry_discharge"')


def _start(db_session, registry, parties, make_person, now, name, **dates):
    return services.create_case(
        db_session,
        registry,
        parties.region_user,
        workflow_name=name,
        person=make_person(),
        unit_ids=[parties.municipality.id],
        now=now,
        **dates,
    )


def test_a_new_occasion_with_start_dates_requires_the_date(tmp_path, db_session, parties, make_person, now):
    registry = _registry(tmp_path, "sip_youth_discharge", _youth_discharge())
    with pytest.raises(InvalidInput) as refused:
        _start(db_session, registry, parties, make_person, now, "sip_youth_discharge")
    assert refused.value.field == "utskrivningsklar_at"
    with pytest.raises(InvalidInput) as future:
        _start(
            db_session,
            registry,
            parties,
            make_person,
            now,
            "sip_youth_discharge",
            utskrivningsklar_at=now + timedelta(hours=1),
        )
    assert future.value.field == "utskrivningsklar_at"


def test_a_new_occasion_with_start_dates_keeps_the_date_and_its_deadline(
    tmp_path, db_session, parties, make_person, now
):
    registry = _registry(tmp_path, "sip_youth_discharge", _youth_discharge())
    ready = now - timedelta(days=1)
    case = _start(
        db_session, registry, parties, make_person, now, "sip_youth_discharge", utskrivningsklar_at=ready
    )
    db_session.commit()
    assert case.occasion == "youth_psychiatry_discharge"
    assert case.utskrivningsklar_at == ready
    deadline = db_session.exec(select(Deadline).where(Deadline.case_id == case.id)).one()
    # The file's kallelse runs to the end of the third day in Sweden (a Wednesday: a working day).
    third_day = to_local(ready + timedelta(days=3)).date()
    assert first_working_day(third_day) == third_day
    assert (deadline.kind, deadline.due_at) == ("kallelse", end_of_local_day(third_day))


def test_without_start_dates_the_date_is_neither_asked_nor_taken(
    tmp_path, db_session, parties, make_person, now
):
    # The discharge occasion itself is no longer what makes the date required: the key is. A date given
    # all the same is refused at its field (typed for the wrong kind), never silently dropped.
    text = DISCHARGE.replace('start_dates = ["utskrivningsklar_at"]\n', "")
    text = re.sub(r"\[deadlines\.kallelse\].*?met_by = \[\"send_kallelse\"\]\n", "", text, flags=re.S)
    registry = _registry(tmp_path, "sip_discharge", text)
    with pytest.raises(InvalidInput) as refused:
        _start(db_session, registry, parties, make_person, now, "sip_discharge", utskrivningsklar_at=now)
    assert refused.value.field == "utskrivningsklar_at"
    db_session.rollback()
    case = _start(db_session, registry, parties, make_person, now, "sip_discharge", utskrivningsklar_at=None)
    assert case.occasion == "discharge"
    assert case.utskrivningsklar_at is None


def test_a_deadline_counting_from_a_date_the_start_does_not_ask_for_is_refused(tmp_path):
    # Without the key the case never has the date: the kallelse deadline would silently never start.
    path = tmp_path / "sip_discharge.toml"
    path.write_text(DISCHARGE.replace('start_dates = ["utskrivningsklar_at"]\n', ""), encoding="utf-8")
    with pytest.raises(WorkflowError) as refused:
        load_workflow_file(path)
    assert str(refused.value).startswith("sip_discharge.toml: deadlines.kallelse.from: ")
    assert 'start_dates = ["utskrivningsklar_at"]' in str(refused.value)


def test_a_transition_marked_closes_keeps_its_reason_on_the_case(
    tmp_path, db_session, parties, make_person, now
):
    # Another name for the step and the end state: "closes" says it ends the case as done.
    text = SIP.replace("[states.closed]", "[states.done]").replace('dest = "closed"', 'dest = "done"')
    text = text.replace('trigger = "close"', 'trigger = "finish"')
    registry = _registry(tmp_path, "sip", text)
    case = _start(db_session, registry, parties, make_person, now, "sip")
    db_session.commit()
    path = ["give_consent", "start_preparation", "send_kallelse", "hold_meeting", "establish_plan"]
    for step, trigger in enumerate(path, start=1):
        support.fire(
            db_session, registry, parties.region_user, case, trigger, now=now + timedelta(minutes=step)
        )
    support.fire(
        db_session,
        registry,
        parties.region_user,
        case,
        "finish",
        now=now + timedelta(hours=1),
        data={"reason": "Klart"},
    )
    assert case.state == "done"
    assert case.closed_reason == "Klart"


def test_a_reason_step_without_closes_keeps_no_reason_on_the_case(
    tmp_path, db_session, parties, make_person, now
):
    text = re.sub(r"# Ends the case as done.*\ncloses = true\n", "", SIP)
    registry = _registry(tmp_path, "sip", text)
    case = _start(db_session, registry, parties, make_person, now, "sip")
    db_session.commit()
    support.fire(db_session, registry, parties.region_user, case, "cancel", now=now, data={"reason": "Fel"})
    assert case.state == "cancelled"
    assert case.closed_reason is None


def test_childs_view_is_read_from_the_file(tmp_path):
    path = tmp_path / "sip_youth.toml"
    path.write_text(
        SIP.replace('name = "sip"', 'name = "sip_youth"').replace(
            'initial = "requested"\n', 'initial = "requested"\nchilds_view = true\n'
        ),
        encoding="utf-8",
    )
    assert load_workflow_file(path).childs_view is True
    assert load_workflow_file(WORKFLOWS_DIR / "sip.toml").childs_view is False
    assert load_workflow_file(WORKFLOWS_DIR / "sip_child.toml").childs_view is True


TOP = 'initial = "requested"\n'
BAD_VALUES = [
    ("start-date-unknown", TOP, TOP + 'start_dates = ["follow_up_on"]\n', "start_dates", "follow_up_on"),
    ("start-dates-not-names", TOP, TOP + "start_dates = 3\n", "start_dates", "list of names"),
    ("childs-view-not-a-flag", TOP, TOP + 'childs_view = "yes"\n', "childs_view", "true or false"),
    ("closes-not-a-flag", "closes = true", 'closes = "yes"', "transitions.close.closes", "true or false"),
    (
        "withdraws-consent-not-a-flag",
        'dest = "withdrawn"\nwithdraws_consent = true',
        'dest = "withdrawn"\nwithdraws_consent = 1',
        "transitions.withdraw_consent.withdraws_consent",
        "true or false",
    ),
    (
        "no-transition-withdraws-consent",
        'dest = "withdrawn"\nwithdraws_consent = true\n',
        'dest = "withdrawn"\n',
        # The first state after the consent step: before it there is no consent to withdraw.
        "states.consent_given",
        "withdraws_consent = true",
    ),
    (
        "two-ways-to-withdraw-consent-from-a-state",
        'trigger = "cancel"\n',
        'trigger = "cancel"\nwithdraws_consent = true\n',
        "states.consent_given",
        "once",
    ),
    (
        "closes-to-an-active-state",
        'dest = "closed"\n# Ends the case as done: its reason is kept on the case.\ncloses = true',
        'dest = "follow_up"\ncloses = true',
        "transitions.close.closes",
        "final state",
    ),
]


@pytest.mark.parametrize(
    ("old", "new", "key", "fragment"),
    [pytest.param(old, new, key, fragment, id=name) for name, old, new, key, fragment in BAD_VALUES],
)
def test_a_bad_value_of_a_workflow_key_is_refused_naming_file_and_key(tmp_path, old, new, key, fragment):
    assert SIP.count(old) == 1, old
    path = tmp_path / "broken_sip.toml"
    path.write_text(SIP.replace(old, new), encoding="utf-8")
    with pytest.raises(WorkflowError) as refused:
        load_workflow_file(path)
    message = str(refused.value)
    assert message.startswith(f"broken_sip.toml: {key}: "), message
    assert fragment in message, message
