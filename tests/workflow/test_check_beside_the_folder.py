"""`workflow check` of a county's new file alone checks it beside the workflow folder's files too, as the
start will load it: the check said ok to a file keeping another workflow's occasion, or a name and version
a file of the folder defines, and the start then refused it and the service did not start."""

from __future__ import annotations

import pytest

from sipflow.config import PROJECT_ROOT

WORKFLOWS_DIR = PROJECT_ROOT / "workflows"
SIP = (WORKFLOWS_DIR / "sip.toml").read_text(encoding="utf-8")


@pytest.fixture
def runner(session_app):
    return session_app.test_cli_runner()


def _county_file(tmp_path, name: str, occasion: str, label: str | None = None):
    """sip.toml as a county's file named name, of occasion, labelled label (default: one of its own)."""
    label = f"SIP {name}" if label is None else label
    text = (
        SIP.replace('name = "sip"', f'name = "{name}"', 1)
        .replace('occasion = "other_need"', f'occasion = "{occasion}"', 1)
        .replace('label = { sv = "SIP", en = "SIP" }', f'label = {{ sv = "{label}", en = "{label}" }}', 1)
    )
    path = tmp_path / f"{name}.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_new_file_keeping_a_folder_workflows_occasion_is_refused_alone(runner, tmp_path):
    path = _county_file(tmp_path, "sip_aldre", "other_need")
    result = runner.invoke(args=["sipflow", "workflow", "check", str(path)])
    assert result.exit_code == 1
    assert "sip_aldre.toml: ok" not in result.output
    assert (
        "sip_aldre.toml: occasion: 'other_need' is already the occasion of workflow 'sip' (sip.toml)"
        in result.output
    )
    assert f"that file is in the workflow folder {WORKFLOWS_DIR}, beside which the start loads this one" in (
        result.output
    )
    # An occasion of its own and the national file's label kept: refused alone too, naming the label.
    path = _county_file(tmp_path, "sip_aldre", "elderly_home_care", label="SIP")
    result = runner.invoke(args=["sipflow", "workflow", "check", str(path)])
    assert result.exit_code == 1
    kept = "sip_aldre.toml: label.sv: 'SIP' is already the label of workflow 'sip' (sip.toml)"
    assert kept in result.output
    # With an occasion and a label of its own it is ok.
    path = _county_file(tmp_path, "sip_aldre", "elderly_home_care")
    result = runner.invoke(args=["sipflow", "workflow", "check", str(path)])
    assert result.exit_code == 0, result.output
    assert "sip_aldre.toml: ok (sip_aldre v1, 11 states)" in result.output


def test_a_new_file_of_a_folder_files_name_and_version_is_refused_alone(runner, tmp_path):
    path = tmp_path / "sip_v1.toml"
    path.write_text(SIP, encoding="utf-8")
    result = runner.invoke(args=["sipflow", "workflow", "check", str(path)])
    assert result.exit_code == 1
    assert (
        "sip_v1.toml: version: workflow 'sip' version 1 is also defined in sip.toml: a version is one file, "
        "and a change of its rules a new version (version = 2, in sip_v2.toml); that file is in the "
        "workflow folder" in (result.output)
    )


def test_a_file_given_in_place_of_the_folders_file_of_that_name_replaces_it(runner, tmp_path):
    # The edited copy of a folder's file is checked in its place, not beside it.
    path = tmp_path / "sip.toml"
    path.write_text(SIP.replace('label = { sv = "SIP", en = "SIP" }', 'label = { sv = "SIP", en = "CIP" }'))
    result = runner.invoke(args=["sipflow", "workflow", "check", str(path)])
    assert result.exit_code == 0, result.output
    folder = [str(p) for p in sorted(WORKFLOWS_DIR.glob("*.toml"))]
    assert runner.invoke(args=["sipflow", "workflow", "check", *folder]).exit_code == 0
