"""A running service never reads the workflow folder again unasked: gunicorn with the project's
gunicorn.conf.py (preload_app) keeps answering after its workers die while a broken file lies in the folder.

Without preloading, every new worker built the app again, read the broken file, exited 3 ("failed to boot")
and gunicorn's master shut the whole service down.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from sipflow.config import PROJECT_ROOT

# Ceilings on waiting for the server, not timing assertions.
WAIT_SECONDS = 90


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def health(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - a loopback http URL
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def wait_for_health(url: str, server: subprocess.Popen, log: Path) -> int:
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        try:
            return health(url)
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            if server.poll() is not None:
                raise AssertionError(f"gunicorn stopped ({server.returncode}):\n{log.read_text()}") from None
            if time.monotonic() > deadline:
                raise AssertionError(f"no answer from {url}:\n{log.read_text()}") from None
            time.sleep(0.1)


def workers(master: int) -> set[int]:
    children = Path(f"/proc/{master}/task/{master}/children")
    return {int(pid) for pid in children.read_text().split()} if children.exists() else set()


def wait_for_workers(master: int, count: int, server: subprocess.Popen) -> set[int]:
    deadline = time.monotonic() + WAIT_SECONDS
    while len(found := workers(master)) < count:
        assert server.poll() is None and time.monotonic() < deadline, found
        time.sleep(0.1)
    return found


def wait_for_path(path: Path, server: subprocess.Popen) -> Path:
    deadline = time.monotonic() + WAIT_SECONDS
    while not path.exists():
        assert server.poll() is None and time.monotonic() < deadline, path
        time.sleep(0.1)
    return path


def test_workers_started_again_do_not_read_a_file_broken_since_the_start(tmp_path):
    folder = tmp_path / "workflows"
    folder.mkdir()
    for path in (PROJECT_ROOT / "workflows").glob("*.toml"):
        shutil.copy(path, folder / path.name)
    port = free_port()
    environment = {
        **os.environ,
        "SIPFLOW_ENV": "development",
        "SIPFLOW_INSTANCE_DIR": str(tmp_path),
        "SIPFLOW_DATABASE_URL": f"sqlite:///{tmp_path / 'sipflow.sqlite3'}",
        "SIPFLOW_OUTBOX_DIR": str(tmp_path / "outbox"),
        "SIPFLOW_WORKFLOWS_DIR": str(folder),
    }
    url = f"http://127.0.0.1:{port}/healthz"
    log = tmp_path / "gunicorn.log"
    # README's production command with two workers, from the project folder (gunicorn.conf.py is read there).
    with log.open("wb") as errors:
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "2", "wsgi:app"],
            cwd=PROJECT_ROOT,
            env=environment,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=errors,
        )
    try:
        assert wait_for_health(url, server, log) in (200, 503)
        # gunicorn's control socket is the instance's own, not one per account that another service shares
        # (gunicorn opens it beside the workers' start: waited for, as the workers are).
        assert wait_for_path(tmp_path / "gunicorn.ctl", server).is_socket()
        started = wait_for_workers(server.pid, 2, server)
        # A county's tester drops a file with a typo'd state into the folder of the running service ...
        text = (folder / "sip.toml").read_text(encoding="utf-8")
        broken = text.replace('name = "sip"', 'name = "typo_state"').replace(
            'initial = "requested"', 'initial = "requestd"'
        )
        (folder / "typo_state.toml").write_text(broken, encoding="utf-8")
        # ... and every worker dies (a crash, a timeout, the OOM killer): gunicorn starts new ones.
        for pid in started:
            os.kill(pid, signal.SIGKILL)
        assert wait_for_health(url, server, log) in (200, 503)
        assert not started & wait_for_workers(server.pid, 2, server)
        assert server.poll() is None
        assert "cannot start" not in log.read_text()
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
