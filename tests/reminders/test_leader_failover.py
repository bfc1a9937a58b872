"""Two scheduler processes: one leads; kill it and the other takes over (after a retry interval)."""

from __future__ import annotations

import os
import signal
import subprocess

from schedulerkit import marked_pids, marking_node, wait_for

from sipflow.config import PROJECT_ROOT


def test_the_other_scheduler_takes_over_when_the_leader_is_killed(tmp_path):
    database, marker = tmp_path / "sipflow.sqlite3", tmp_path / "marks"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIPFLOW_")}
    env["SIPFLOW_INSTANCE_DIR"] = str(tmp_path)
    command = marking_node("sqlite:///" + str(database), marker)
    processes = [
        subprocess.Popen(
            command, cwd=PROJECT_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        for _ in range(2)
    ]
    try:
        assert wait_for(lambda: len(marked_pids(marker)) >= 3)
        leaders = set(marked_pids(marker))
        assert len(leaders) == 1  # the other one waits
        (leader,) = leaders
        survivor = next(p for p in processes if p.pid != leader)
        os.kill(leader, signal.SIGKILL)
        next(p for p in processes if p.pid == leader).wait(timeout=30)
        seen = len(marked_pids(marker))
        assert wait_for(lambda: survivor.pid in marked_pids(marker))
        assert set(marked_pids(marker)[seen:]) == {survivor.pid}
        assert survivor.poll() is None
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=30)
