"""Scheduler processes for tests: a node whose only job writes its pid to a marker file every second, and
waiting on what the nodes mark."""

from __future__ import annotations

import sys
import time
from pathlib import Path

# The node: database URL, marker file and, if given, the seconds between its checks of the lock
# (LEADER_CHECK_SECONDS; a PostgreSQL lock's session ends after some three missed checks).
MARKING_NODE = """
import os, sys, threading
from sipflow import create_app, jobs, scheduler

database, marker = sys.argv[1], sys.argv[2]
app = create_app({
    "ENV_NAME": "testing",
    "DATABASE_URL": database,
    "SECRET_KEY": "test-secret-key-0123456789",
    "SCHEDULER_RETRY_SECONDS": 1,
})
if len(sys.argv) > 3:
    scheduler.LEADER_CHECK_SECONDS = float(sys.argv[3])
jobs.JOBS[:] = []

def mark(_app):
    with open(marker, "a") as handle:
        handle.write(f"{os.getpid()}\\n")

jobs.register_job("mark", mark, "interval", seconds=1, run_at_start=True)
scheduler.run_scheduler(app, stop=threading.Event())
"""


def marking_node(database_url: str, marker: Path, *, leader_check_seconds: float | None = None) -> list[str]:
    """The command line of a marking node on database_url."""
    command = [sys.executable, "-c", MARKING_NODE, database_url, str(marker)]
    return command + ([str(leader_check_seconds)] if leader_check_seconds is not None else [])


def marked_pids(marker: Path) -> list[int]:
    """The pids the nodes marked, in the order they marked them."""
    return [int(line) for line in marker.read_text().split()] if marker.exists() else []


def wait_for(condition, seconds: float = 60) -> bool:
    """Poll condition until it holds (a bound against a hang, not a timing assertion)."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.1)
    return condition()
