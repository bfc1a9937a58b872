"""Reminders and deadlines in the workflow files: declared reminders checked at load, deadlines counted as
the file says (calendar or working days, Swedish holidays)."""

from __future__ import annotations

import tomllib
from datetime import datetime
from pathlib import Path

import pytest

from sipflow.areas import load_areas
from sipflow.cases.deadlines import due_at
from sipflow.clock import local_to_utc, to_local
from sipflow.workflow.definition import WorkflowError, parse_workflow

WORKFLOWS = Path(__file__).resolve().parents[2] / "workflows"


def _data(name: str) -> dict:
    load_areas()
    with (WORKFLOWS / name).open("rb") as handle:
        return tomllib.load(handle)


GOOD = {
    "name": "remind_follow_up",
    "label": {"sv": "Påminn om uppföljning", "en": "Remind of follow-up"},
    "anchor": "follow_up_on",
    "offset_days": -14,
    "recipients": ["huvudansvarig", "initiator"],
    "template": "case_reminder",
}


def test_a_declared_reminder_is_loaded():
    data = _data("sip.toml") | {"reminders": [GOOD]}
    workflow = parse_workflow(WORKFLOWS / "sip.toml", data)
    (reminder,) = workflow.reminders
    assert (reminder.anchor, reminder.offset_days, reminder.recipients) == (
        "follow_up_on",
        -14,
        ("huvudansvarig", "initiator"),
    )


@pytest.mark.parametrize(
    ("change", "key", "words"),
    [
        ({"anchor": "birthday"}, "reminders.remind_follow_up.anchor", "unknown anchor 'birthday'"),
        ({"recipients": ["neighbour"]}, "reminders.remind_follow_up.recipients", "unknown party 'neighbour'"),
        ({"template": "shouting"}, "reminders.remind_follow_up.template", "unknown template 'shouting'"),
        ({"offset_days": "soon"}, "reminders.remind_follow_up.offset_days", "whole days"),
        ({"colour": "red"}, "reminders.remind_follow_up", "unknown key 'colour'"),
        # Its subject in English would have been the Swedish one.
        ({"label": {"sv": "Påminn"}}, "reminders.remind_follow_up.label", "has no text in en"),
        (
            {"label": {"sv": "Påminn", "en": "Remind", "se": "Påminn"}},
            "reminders.remind_follow_up.label.se",
            "unknown language 'se'",
        ),
    ],
)
def test_a_reminder_on_an_unknown_anchor_party_or_template_is_refused_naming_file_and_key(change, key, words):
    data = _data("sip_discharge.toml") | {"reminders": [GOOD | change]}
    with pytest.raises(WorkflowError) as refused:
        parse_workflow(WORKFLOWS / "sip_discharge.toml", data)
    message = str(refused.value)
    assert message.startswith(f"sip_discharge.toml: {key}: ")
    assert words in message


def test_a_reminder_counting_from_a_date_the_file_does_not_ask_for_is_refused():
    # sip.toml asks for no utskrivningsklar_at: no case of it has the date, so the reminder never went out.
    data = _data("sip.toml") | {"reminders": [GOOD | {"anchor": "utskrivningsklar_at"}]}
    with pytest.raises(WorkflowError) as refused:
        parse_workflow(WORKFLOWS / "sip.toml", data)
    assert str(refused.value) == (
        "sip.toml: reminders.remind_follow_up.anchor: counts from utskrivningsklar_at, which a case has only "
        'when the file says start_dates = ["utskrivningsklar_at"]'
    )
    discharge = _data("sip_discharge.toml") | {"reminders": [GOOD | {"anchor": "utskrivningsklar_at"}]}
    (reminder,) = parse_workflow(WORKFLOWS / "sip_discharge.toml", discharge).reminders
    assert reminder.anchor == "utskrivningsklar_at"


def _kallelse(working_days: bool | None):
    data = _data("sip_discharge.toml")
    if working_days is not None:
        data["deadlines"]["kallelse"]["working_days"] = working_days
    workflow = parse_workflow(WORKFLOWS / "sip_discharge.toml", data)
    return next(rule for rule in workflow.deadlines if rule.kind == "kallelse")


def _due(rule, local: datetime) -> datetime:
    return to_local(due_at(rule, {"utskrivningsklar_at": local_to_utc(local)}))


def test_the_discharge_file_counts_its_three_days_in_calendar_days():
    rule = _kallelse(None)
    assert (rule.days, rule.working_days) == (3, False)
    # Ready for discharge on a Friday: the kallelse is due on Monday, the weekend counted; whole days, to the
    # end of that Monday (until = "end_of_day").
    assert _due(rule, datetime(2027, 1, 15, 14, 0)) == to_local(
        local_to_utc(datetime(2027, 1, 18, 23, 59, 59))
    )
    # Midsommarafton 2026 is Friday 19 June: calendar days count it like any other, but the third day,
    # Sunday 21 June, is no working day: the kallelse may be sent on Monday (extend_to_working_day).
    assert _due(rule, datetime(2026, 6, 18, 9, 0)).date().isoformat() == "2026-06-22"


def test_in_working_days_the_weekend_and_midsommar_are_skipped():
    rule = _kallelse(True)
    # Friday 15 January 2027 + 3 working days: Monday, Tuesday, Wednesday.
    assert _due(rule, datetime(2027, 1, 15, 14, 0)).date().isoformat() == "2027-01-20"
    # Thursday 18 June 2026: midsommarafton (19th) and midsommardagen (Saturday 20th) and Sunday are not
    # working days, so the three are 22, 23 and 24 June; to the end of that day (the file's until).
    due = _due(rule, datetime(2026, 6, 18, 9, 0))
    assert (due.date().isoformat(), due.hour) == ("2026-06-24", 23)
    # A Sunday is no working day even though the holidays package can count Sundays as holidays.
    assert _due(rule, datetime(2026, 6, 21, 9, 0)).date().isoformat() == "2026-06-24"
