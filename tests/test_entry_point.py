"""wsgi.py, the process entry of the flask commands, flask run and gunicorn: a workflow file or a setting
the app cannot start with ends the process with one line naming it and a non-zero status, no traceback."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from sipflow.config import PROJECT_ROOT

WORKFLOWS_DIR = PROJECT_ROOT / "workflows"
# A ceiling on how long a process that should stop at once may take, not a timing assertion.
STOP_WAIT_SECONDS = 120

COMMANDS = {
    "cli": [sys.executable, "-m", "flask", "--app", "wsgi", "sipflow", "workflow", "check"],
    "flask-run": [sys.executable, "-m", "flask", "--app", "wsgi", "run", "--port", "0"],
    "gunicorn": [sys.executable, "-m", "gunicorn", "--bind", "127.0.0.1:0", "--workers", "1", "wsgi:app"],
}


def environment(tmp_path, **settings) -> dict:
    return {
        **os.environ,
        "SIPFLOW_ENV": "development",
        "SIPFLOW_INSTANCE_DIR": str(tmp_path),
        "SIPFLOW_DATABASE_URL": f"sqlite:///{tmp_path / 'sipflow.sqlite3'}",
        "SIPFLOW_OUTBOX_DIR": str(tmp_path / "outbox"),
        **settings,
    }


def start(command: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        COMMANDS[command],
        cwd=PROJECT_ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=STOP_WAIT_SECONDS,
    )


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_broken_workflow_file_stops_the_process_with_one_line(tmp_path, command):
    folder = tmp_path / "workflows"
    folder.mkdir()
    for path in WORKFLOWS_DIR.glob("*.toml"):
        shutil.copy(path, folder / path.name)
    (folder / "zz_broken.toml").write_text("this is = = not toml\n", encoding="utf-8")
    result = start(command, environment(tmp_path, SIPFLOW_WORKFLOWS_DIR=str(folder)))
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "Traceback" not in output, output
    refusals = [line for line in output.splitlines() if "zz_broken.toml" in line]
    assert len(refusals) == 1, output
    assert refusals[0].startswith("sipflow cannot start: zz_broken.toml: not valid TOML: "), output
    assert "line 1" in refusals[0]


def test_a_bad_setting_stops_the_commands_with_one_line(tmp_path):
    result = start("cli", environment(tmp_path, SIPFLOW_ENV="staging"))
    assert result.returncode != 0
    assert "Traceback" not in result.stderr, result.stderr
    assert result.stderr.splitlines() == [
        "sipflow cannot start: SIPFLOW_ENV must be one of development, testing, production, got 'staging'"
    ]
