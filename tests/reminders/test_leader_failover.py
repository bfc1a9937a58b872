"""Two scheduler processes: one leads; kill it and the other takes over (after a retry interval)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sipflow.config import PROJECT_ROOT

# A scheduler process whose only job writes its pid to the marker file every second.
SCHEDULER = """
import os, sys, threading
from sipflow import create_app, jobs
from sipflow.scheduler import run_scheduler

database, marker = sys.argv[1], sys.argv[2]
app = create_app({
    "ENV_NAME": "testing",
    "DATABASE_URL": "sqlite:///" + database,
    "SECRET_KEY": "test-secret-key-0123456789",
    "SCHEDULER_RETRY_SECONDS": 1,
})
jobs.JOBS[:] = []

def mark(_app):
    with open(marker, "a") as handle:
        handle.write(f"{os.getpid()}\\n")

jobs.register_job("mark", mark, "interval", seconds=1, run_at_start=True)
run_scheduler(app, stop=threading.Event())
"""


def _pids(marker: Path) -> list[int]:
    return [int(line) for line in marker.read_text().split()] if marker.exists() else []


def _wait_for(condition, seconds: float = 60) -> bool:
    """Poll condition until it holds (a bound against a hang, not a timing assertion)."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


def test_the_other_scheduler_takes_over_when_the_leader_is_killed(tmp_path):
    database, marker = tmp_path / "sipflow.sqlite3", tmp_path / "marks"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIPFLOW_")}
    env["SIPFLOW_INSTANCE_DIR"] = str(tmp_path)
    command = [sys.executable, "-c", SCHEDULER, str(database), str(marker)]
    processes = [
        subprocess.Popen(
            command, cwd=PROJECT_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        for _ in range(2)
    ]
    try:
        assert _wait_for(lambda: len(_pids(marker)) >= 3)
        leaders = set(_pids(marker))
        assert len(leaders) == 1  # the other one waits
        (leader,) = leaders
        survivor = next(p for p in processes if p.pid != leader)
        os.kill(leader, signal.SIGKILL)
        next(p for p in processes if p.pid == leader).wait(timeout=30)
        seen = len(_pids(marker))
        assert _wait_for(lambda: survivor.pid in _pids(marker))
        assert set(_pids(marker)[seen:]) == {survivor.pid}
        assert survivor.poll() is None
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=30)
