"""The files of a workflow folder as the start and `workflow check` read them: one occasion per workflow
across its versions, each file named <name>.toml (version 1) or <name>_v<version>.toml, and only *.toml
files loaded (the others named in the log at start, warned of by the check)."""

from __future__ import annotations

import logging
import shutil

import pytest

from sipflow.areas import load_areas
from sipflow.config import PROJECT_ROOT
from sipflow.workflow import engine
from sipflow.workflow.definition import WorkflowError
from sipflow.workflow.engine import WorkflowRegistry, file_names, ignored_files

load_areas()

WORKFLOWS_DIR = PROJECT_ROOT / "workflows"
SIP = (WORKFLOWS_DIR / "sip.toml").read_text(encoding="utf-8")


@pytest.fixture
def runner(session_app):
    return session_app.test_cli_runner()


@pytest.fixture(autouse=True)
def unpublished(monkeypatch):
    """A registry built here publishes its copies to no one else in the process (engine.loaded_workflow)."""
    monkeypatch.setattr(engine, "_LOADED", {})


def _sip_v2(occasion: str = "other_need") -> str:
    return SIP.replace("version = 1", "version = 2", 1).replace(
        'occasion = "other_need"', f'occasion = "{occasion}"'
    )


def test_the_shipped_files_are_named_by_their_workflow_and_version():
    registry = WorkflowRegistry.from_folder(WORKFLOWS_DIR)
    for workflow in registry.workflows():
        assert workflow.path.rsplit("/", 1)[-1] in file_names(workflow)
    assert ignored_files(WORKFLOWS_DIR) == []


def test_a_version_changing_its_workflows_occasion_is_refused_naming_both_files(tmp_path, runner):
    # Statistics by occasion showed two rows with the workflow's one label.
    (tmp_path / "sip.toml").write_text(SIP, encoding="utf-8")
    (tmp_path / "sip_v2.toml").write_text(_sip_v2("other_reason"), encoding="utf-8")
    expected = (
        "sip_v2.toml: occasion: 'other_reason' differs from 'other_need', the occasion of sip version 1 "
        "(sip.toml): the versions of a workflow share its occasion"
    )
    with pytest.raises(WorkflowError, match="^" + expected.replace("(", r"\(").replace(")", r"\)")):
        WorkflowRegistry.from_folder(tmp_path)
    result = runner.invoke(
        args=["sipflow", "workflow", "check", str(tmp_path / "sip.toml"), str(tmp_path / "sip_v2.toml")]
    )
    assert result.exit_code == 1
    assert expected in result.output


def test_a_file_named_otherwise_than_its_workflow_is_refused_with_the_name_to_give(tmp_path, runner):
    (tmp_path / "other_name.toml").write_text(_sip_v2(), encoding="utf-8")
    expected = "other_name.toml: name: workflow 'sip' version 2 must be in a file named sip_v2.toml"
    with pytest.raises(WorkflowError, match=f"^{expected}$"):
        WorkflowRegistry.from_folder(tmp_path)
    result = runner.invoke(args=["sipflow", "workflow", "check", str(tmp_path / "other_name.toml")])
    assert result.exit_code == 1
    assert expected in result.output
    # Version 1 may be <name>.toml or <name>_v1.toml.
    (tmp_path / "other_name.toml").unlink()
    (tmp_path / "sip_v1.toml").write_text(SIP, encoding="utf-8")
    assert [w.version for w in WorkflowRegistry.from_folder(tmp_path).workflows()] == [1]


def test_the_check_warns_of_a_file_the_start_would_not_load(tmp_path, runner):
    shutil.copy(WORKFLOWS_DIR / "sip.toml", tmp_path / "sip.toml.txt")
    result = runner.invoke(args=["sipflow", "workflow", "check", str(tmp_path / "sip.toml.txt")])
    assert "warning: sip.toml.txt: only *.toml files are loaded; the start ignores this one" in result.output


def test_the_start_names_the_files_of_the_folder_it_does_not_load(tmp_path, caplog):
    shutil.copy(WORKFLOWS_DIR / "sip.toml", tmp_path / "sip.toml")
    shutil.copy(WORKFLOWS_DIR / "sip.toml", tmp_path / "sip_v2.toml.txt")
    (tmp_path / "README").write_text("notes", encoding="utf-8")
    (tmp_path / ".gitkeep").write_text("", encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="sipflow.workflow.engine"):
        WorkflowRegistry.from_folder(tmp_path)
    assert [r.getMessage() for r in caplog.records] == [
        "workflow folder: only *.toml files are loaded; ignored: README, sip_v2.toml.txt"
    ]
