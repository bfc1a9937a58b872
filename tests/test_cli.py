"""The flask sipflow commands: the workflow diagram, the workflow check and the database upgrade."""

from __future__ import annotations

import re
import shutil

import pytest
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from sipflow import create_app
from sipflow.areas import load_areas
from sipflow.cli import alembic_config
from sipflow.config import PROJECT_ROOT
from sipflow.i18n import cli_count
from sipflow.workflow.engine import WorkflowRegistry

# The workflow files name guards, effects and inputs the areas register.
load_areas()

WORKFLOWS_DIR = PROJECT_ROOT / "workflows"
REGISTRY = WorkflowRegistry.from_folder(WORKFLOWS_DIR)


@pytest.fixture
def runner(session_app):
    return session_app.test_cli_runner()


@pytest.mark.parametrize("name", REGISTRY.names())
def test_diagram_shows_every_state_and_transition_of_the_file(runner, name):
    result = runner.invoke(args=["sipflow", "workflow", "diagram", name])
    assert result.exit_code == 0, result.output
    lines = [line.strip() for line in result.output.splitlines()]
    assert "stateDiagram-v2" in lines
    workflow = REGISTRY.latest(name)
    assert f"[*] --> {workflow.initial}" in lines
    for state in workflow.states:
        assert f'state "{state}" as {state}' in lines, state
    edges = {
        (m["source"], m["dest"], m["trigger"])
        for m in (
            re.fullmatch(r"(?P<source>\w+) --> (?P<dest>\w+): (?P<trigger>\w+)( \[.*\])?", line)
            for line in lines
        )
        if m
    }
    expected = {(source, t.dest, t.trigger) for t in workflow.transitions for source in t.sources}
    assert edges == expected
    for transition in workflow.transitions:
        if transition.conditions:
            label = f"{transition.trigger} [{' & '.join(transition.conditions)}]"
            assert any(line.endswith(label) for line in lines), label


def test_diagram_of_an_unknown_workflow_fails(runner):
    result = runner.invoke(args=["sipflow", "workflow", "diagram", "no_such_workflow"])
    assert result.exit_code != 0
    assert "no_such_workflow" in result.output
    assert "stateDiagram" not in result.output


def test_diagram_draws_a_county_file_before_it_is_deployed(runner, tmp_path):
    # A county drafting its own file wants to see it drawn before the file goes into the workflow folder;
    # the command drew only workflows already loaded.
    draft = tmp_path / "sip_v2.toml"
    draft.write_text(
        (WORKFLOWS_DIR / "sip.toml")
        .read_text(encoding="utf-8")
        .replace("version = 1", "version = 2", 1)
        .replace('trigger = "close"', 'trigger = "close_sip"'),
        encoding="utf-8",
    )
    result = runner.invoke(args=["sipflow", "workflow", "diagram", str(draft)])
    assert result.exit_code == 0, result.output
    assert "stateDiagram-v2" in result.output
    assert ": close_sip" in result.output
    assert re.search(r": close( |$)", result.output, re.MULTILINE) is None
    # The shipped file, named by its path, is drawn as the loaded workflow is.
    shipped = runner.invoke(args=["sipflow", "workflow", "diagram", str(WORKFLOWS_DIR / "sip.toml")])
    assert shipped.output == runner.invoke(args=["sipflow", "workflow", "diagram", "sip"]).output


def test_diagram_of_a_broken_file_names_the_mistake_and_draws_nothing(runner, tmp_path):
    broken = tmp_path / "kronoberg.toml"
    broken.write_text(
        (WORKFLOWS_DIR / "sip.toml").read_text(encoding="utf-8").replace('"plan_meeting"', '"book_room"'),
        encoding="utf-8",
    )
    result = runner.invoke(args=["sipflow", "workflow", "diagram", str(broken)])
    assert result.exit_code == 1
    assert "kronoberg.toml: transitions.send_kallelse.effects: unknown effect 'book_room'" in result.output
    assert "stateDiagram" not in result.output
    missing = runner.invoke(args=["sipflow", "workflow", "diagram", str(tmp_path / "none.toml")])
    assert missing.exit_code != 0
    assert "no such file" in missing.output


def test_check_accepts_the_shipped_files(runner):
    files = [str(p) for p in sorted(WORKFLOWS_DIR.glob("*.toml"))]
    result = runner.invoke(args=["sipflow", "workflow", "check", *files])
    assert result.exit_code == 0, result.output
    for path in WORKFLOWS_DIR.glob("*.toml"):
        assert f"{path.name}: ok" in result.output


def test_check_refuses_a_broken_file_naming_it(runner, tmp_path):
    good = tmp_path / "sip.toml"
    shutil.copy(WORKFLOWS_DIR / "sip.toml", good)
    broken = tmp_path / "kronoberg_sip.toml"
    broken.write_text(
        good.read_text(encoding="utf-8").replace('"plan_meeting"', '"book_room"'), encoding="utf-8"
    )
    result = runner.invoke(args=["sipflow", "workflow", "check", str(good), str(broken)])
    assert result.exit_code == 1
    assert "sip.toml: ok" in result.output
    assert (
        "kronoberg_sip.toml: transitions.send_kallelse.effects: unknown effect 'book_room'" in result.output
    )


def test_check_refuses_two_files_of_one_name_and_version_as_the_start_does(runner, tmp_path):
    # A county copying sip.toml to change it keeps name and version: the check said ok to both files and
    # the app then refused to start.
    shutil.copy(WORKFLOWS_DIR / "sip.toml", tmp_path / "sip.toml")
    shutil.copy(WORKFLOWS_DIR / "sip.toml", tmp_path / "sip_v1.toml")
    files = sorted(str(p) for p in tmp_path.glob("*.toml"))
    result = runner.invoke(args=["sipflow", "workflow", "check", *files])
    assert result.exit_code == 1
    assert "sip.toml: ok" in result.output
    assert (
        "sip_v1.toml: version: workflow 'sip' version 1 is also defined in sip.toml: a version is one file, "
        "and a change of its rules a new version (version = 2, in sip_v2.toml)" in result.output
    )
    # Named after the county, the copy is refused for its name first: it is still workflow sip version 1.
    shutil.copy(WORKFLOWS_DIR / "sip.toml", tmp_path / "sip_kronoberg.toml")
    result = runner.invoke(args=["sipflow", "workflow", "check", str(tmp_path / "sip_kronoberg.toml")])
    assert result.exit_code == 1
    assert (
        "sip_kronoberg.toml: name: workflow 'sip' version 1 must be in a file named sip.toml or sip_v1.toml"
        in result.output
    )


def test_check_refuses_a_second_workflow_of_an_occasion_as_the_start_does(runner, tmp_path):
    # A county's own workflow keeping the national sip's occasion: the check and the start said ok, and
    # statistics by occasion then named the national cases by the county's label.
    county = tmp_path / "a_skane.toml"
    county.write_text(
        (WORKFLOWS_DIR / "sip.toml").read_text(encoding="utf-8").replace('name = "sip"', 'name = "a_skane"'),
        encoding="utf-8",
    )
    result = runner.invoke(
        args=["sipflow", "workflow", "check", str(county), str(WORKFLOWS_DIR / "sip.toml")]
    )
    assert result.exit_code == 1
    assert "a_skane.toml: ok" in result.output
    assert (
        "sip.toml: occasion: 'other_need' is already the occasion of workflow 'a_skane' (a_skane.toml)"
        in result.output
    )
    assert "sip.toml: ok" not in result.output


def test_check_with_cases_warns_of_each_version_cases_run_on_that_no_file_defines(
    app, create_case, db_session
):
    # A file removed (or edited in place to a new version) left its cases without rules: only opening one
    # (a 503 page) said so. The check of the files to deploy now says it before.
    on_a_lost_version = create_case("sip")
    on_a_lost_version.workflow_version = 99
    db_session.add(on_a_lost_version)
    create_case("sip")
    db_session.commit()
    files = [str(p) for p in sorted(WORKFLOWS_DIR.glob("*.toml"))]
    runner = app.test_cli_runner()
    result = runner.invoke(args=["sipflow", "workflow", "check", "--cases", *files])
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.output.splitlines() if line.startswith("warning: ")]
    assert warnings == [
        "warning: workflow sip version 99: 1 case runs on it and none of the files defines it; "
        "their pages cannot be shown without its file: keep that version's file in the workflow folder "
        "(a change is a new version, in a file beside it)"
    ]
    without_sip = [f for f in files if not f.endswith("/sip.toml")]
    result = runner.invoke(args=["sipflow", "workflow", "check", "--cases", *without_sip])
    assert (
        "warning: workflow sip version 1: 1 case runs on it and none of the files defines it" in result.output
    )
    # Without --cases the check reads no database.
    assert "warning" not in runner.invoke(args=["sipflow", "workflow", "check", *without_sip]).output


def test_check_without_files_is_a_usage_error(runner):
    """Checking nothing is no success: the command names the files it needs."""
    result = runner.invoke(args=["sipflow", "workflow", "check"])
    assert result.exit_code == 2
    assert "Missing argument 'FILES...'" in result.output


def test_db_upgrade_builds_a_new_database(tmp_path):
    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    app = create_app({"ENV_NAME": "testing", "DATABASE_URL": url, "SECRET_KEY": "test-secret-key-0123456789"})
    try:
        result = app.test_cli_runner().invoke(args=["sipflow", "db", "upgrade"])
        assert result.exit_code == 0, result.output
        assert "database is up to date" in result.output
        with app.extensions["sipflow.engine"].connect() as connection:
            assert {"sipcase", "transitionlog", "alembic_version"} <= set(
                inspect(connection).get_table_names()
            )
        # A second run has nothing to do and says the same.
        again = app.test_cli_runner().invoke(args=["sipflow", "db", "upgrade"])
        assert again.exit_code == 0 and "database is up to date" in again.output
    finally:
        app.extensions["sipflow.engine"].dispose()


def test_db_downgrade_takes_the_database_back_to_an_earlier_release(tmp_path):
    """Going back to the release before: this release's code undoes its own migrations, down to the newest
    migration of that release (the earlier code's `db upgrade` cannot name a revision it has not got), and
    refuses to take everything down."""
    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    app = create_app({"ENV_NAME": "testing", "DATABASE_URL": url, "SECRET_KEY": "test-secret-key-0123456789"})
    runner = app.test_cli_runner()
    script = ScriptDirectory.from_config(alembic_config(url))
    (head,) = script.get_heads()
    earlier = script.get_revision(head).down_revision
    try:
        assert runner.invoke(args=["sipflow", "db", "upgrade"]).exit_code == 0
        result = runner.invoke(args=["sipflow", "db", "downgrade", earlier])
        assert result.exit_code == 0, result.output
        assert f"database is at {earlier}" in result.output
        with app.extensions["sipflow.engine"].connect() as connection:
            assert MigrationContext.configure(connection).get_current_revision() == earlier
        refused = runner.invoke(args=["sipflow", "db", "downgrade", "base"])
        assert refused.exit_code == 2
        with app.extensions["sipflow.engine"].connect() as connection:
            assert "sipcase" in inspect(connection).get_table_names()
        assert runner.invoke(args=["sipflow", "db", "upgrade"]).exit_code == 0
    finally:
        app.extensions["sipflow.engine"].dispose()


@pytest.mark.parametrize(
    ("number", "noun", "plural", "written"),
    [
        (1, "case", None, "1 case"),
        (0, "case", None, "0 cases"),
        (2, "case", None, "2 cases"),
        (1, "entry", "entries", "1 entry"),
        (5, "entry", "entries", "5 entries"),
    ],
)
def test_the_command_lines_counts_are_singular_for_one(number, noun, plural, written):
    assert cli_count(number, noun, plural) == written


def test_no_command_line_writes_a_count_with_a_plural_of_its_own():
    """Every count a command prints goes through cli_count ("1 case", never "1 cases" or "problem(s)")."""
    modules = [PROJECT_ROOT / "sipflow" / "cli.py", *(PROJECT_ROOT / "sipflow").glob("*/*cli.py")]
    # A placeholder, perhaps a word, then a word ending in s (not a verb: "{key} is also defined").
    own_plural = re.compile(
        r"\{[^{}]*\} (?:[a-z]+ )?(?!(?:is|was|has|does)\b)[a-z]+s\b(?!/)|\(s\)|else 's'|else \"s\""
    )
    found = [
        f"{path.name}:{number}: {line.strip()}"
        for path in modules
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if "click.echo" in line or line.lstrip().startswith('f"')
        if own_plural.search(line)
    ]
    assert not found, "\n".join(found)
