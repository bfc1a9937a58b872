"""A county's own kind of SIP changed while its cases run: a version 2 renaming a state keeps Mina SIP's kind
and state filters finding the cases still in the version 1 state."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import support
from webkit import login, text_of

from sipflow.cases import queries
from sipflow.i18n import sort_key
from sipflow.workflow.engine import WorkflowRegistry

pytestmark = pytest.mark.usefixtures("frozen_clock")

PROJECT_ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = (PROJECT_ROOT / "docs" / "examples" / "sip_aldre.toml").read_text(encoding="utf-8")
LABEL = 'label = { sv = "Närståendemöte kallat", en = "Relatives\' meeting called" }'


def dementia_file(version: int, invited: str) -> str:
    """The county's SIP for older people with dementia (from the documented example), version `version`, its
    state of a called relatives' meeting named `invited` (the label unchanged)."""
    text = EXAMPLE.replace('name = "sip_aldre"', 'name = "sip_demens"').replace(
        "version = 1", f"version = {version}"
    )
    text = text.replace('occasion = "elderly_home_care"', 'occasion = "dementia"')
    text = text.replace('"SIP äldreomsorg", en = "SIP elderly care"', '"SIP vid demens", en = "SIP dementia"')
    text = text.replace(
        '[states.invited]\nlabel = { sv = "Kallad", en = "Invited" }', f"[states.{invited}]\n{LABEL}"
    )
    return text.replace('"invited"', f'"{invited}"')


def folder(tmp_path: Path, name: str, files: dict[str, str]) -> WorkflowRegistry:
    """A workflow folder: the national SIP beside files; loaded as the start loads it."""
    path = tmp_path / name
    path.mkdir()
    shutil.copy(PROJECT_ROOT / "workflows" / "sip.toml", path / "sip.toml")
    for file, text in files.items():
        (path / file).write_text(text, encoding="utf-8")
    return WorkflowRegistry.from_folder(path)


def options(html: str) -> list[tuple[str, str]]:
    select = html[html.index('<select id="filter-state"') :]
    return re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)<', select[: select.index("</select>")])


def test_a_state_renamed_by_version_2_still_finds_the_version_1_cases_by_its_label(
    app, client, db_session, parties, make_person, now, tmp_path, monkeypatch
):
    version_1 = {"sip_demens.toml": dementia_file(1, "relatives_invited")}
    first = folder(tmp_path, "v1", version_1)
    monkeypatch.setitem(app.extensions, "sipflow.workflows", first)
    old, national = (
        support.new_case(
            db_session,
            first,
            parties.region_user,
            workflow=workflow,
            person=make_person(),
            unit_ids=[parties.municipality.id],
            now=now,
        )
        for workflow in ("sip_demens", "sip")
    )
    db_session.commit()
    for trigger in ("give_consent", "send_kallelse"):
        support.fire(db_session, first, parties.region_user, old, trigger, now=now)
    for trigger in ("give_consent", "start_preparation", "send_kallelse"):
        support.fire(db_session, first, parties.region_user, national, trigger, now=now)
    # The county deploys version 2, the state renamed, and restarts; a new SIP takes it.
    second = folder(
        tmp_path, "v2", version_1 | {"sip_demens_v2.toml": dementia_file(2, "relatives_meeting_called")}
    )
    monkeypatch.setitem(app.extensions, "sipflow.workflows", second)
    new = support.new_case(
        db_session,
        second,
        parties.region_user,
        workflow="sip_demens",
        person=make_person(),
        unit_ids=[parties.municipality.id],
        now=now,
    )
    db_session.commit()
    for trigger in ("give_consent", "send_kallelse"):
        support.fire(db_session, second, parties.region_user, new, trigger, now=now)
    assert (old.workflow_version, old.state, new.state) == (
        1,
        "relatives_invited",
        "relatives_meeting_called",
    )
    assert login(client, parties.region_user.username).status_code == 302

    page = text_of(client.get("/cases?kind=dementia"))
    # The rows of both versions say "Närståendemöte kallat"; the list offers it once.
    assert [label for _value, label in options(page)].count("Närståendemöte kallat") == 1
    value = dict((label, value) for value, label in options(page))["Närståendemöte kallat"]
    response = client.get(f"/cases?kind=dementia&state={value}")
    listed = text_of(response)
    assert response.status_code == 200
    assert {c.reference for c in (old, new, national) if c.reference in listed} == {
        old.reference,
        new.reference,
    }
    # A bookmark of the version 1 state is the same choice, not "no loaded kind of SIP has this state".
    response = client.get("/cases?kind=dementia&state=relatives_invited")
    listed = text_of(response)
    assert response.status_code == 200
    assert {c.reference for c in (old, new, national) if c.reference in listed} == {
        old.reference,
        new.reference,
    }
    assert (value, "Närståendemöte kallat") in options(listed)
    assert f'<option value="{value}" selected>' in listed
    # A state of one name is still that state alone ("Kallad" of the national SIP is not the relatives').
    listed = text_of(client.get("/cases?state=invited"))
    assert {c.reference for c in (old, new, national) if c.reference in listed} == {national.reference}


def test_a_shipped_state_a_county_labels_its_own_way_is_one_choice_named_by_both_labels(app, tmp_path):
    """Two choices of one value, both named by the first file's label ("Makulerad", "Makulerad"), were
    shown before; the list is sorted as the reader's language sorts words (å, ä, ö after z)."""
    text = dementia_file(1, "relatives_invited").replace(LABEL, 'label = { sv = "Återbud", en = "Declined" }')
    text = text.replace('{ sv = "Makulerad", en = "Cancelled" }', '{ sv = "Ärendet makulerat", en = "Void" }')
    registry = folder(tmp_path, "sorted", {"sip_demens.toml": text})
    choices = queries.state_choices(registry, "sv")
    assert [value for value, _label in choices].count("cancelled") == 1, choices
    assert ("cancelled", "Makulerad / Ärendet makulerat") in choices, choices
    assert dict(queries.state_choices(registry, "en"))["cancelled"] == "Cancelled / Void"
    # Choosing it finds the cases in that state of either file.
    assert queries.state_names_of(registry, "cancelled") == ("cancelled",)
    labels = [label for _value, label in choices]
    assert labels == sorted(labels, key=lambda label: sort_key(label, "sv")) and labels[-1] == "Återbud"
