"""The production server does not name itself: README's `gunicorn wsgi:app`, started for real on loopback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
START_WAIT_SECONDS = 60  # a ceiling on waiting for the worker, not a timing assertion


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def fetch(url: str):
    """The response to GET url, whatever its status."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - a loopback http URL
            return response.status, response.headers
    except urllib.error.HTTPError as error:
        return error.code, error.headers


def wait_for(url: str, server: subprocess.Popen):
    deadline = time.monotonic() + START_WAIT_SECONDS
    while True:
        try:
            return fetch(url)
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            # A busy machine's worker may still be starting when the socket takes the connection: ask again.
            if server.poll() is not None or time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_gunicorn_does_not_name_itself_in_the_server_header(tmp_path):
    port = free_port()
    environment = {
        **os.environ,
        "SIPFLOW_ENV": "development",
        "SIPFLOW_INSTANCE_DIR": str(tmp_path),
        "SIPFLOW_DATABASE_URL": f"sqlite:///{tmp_path / 'sipflow.sqlite3'}",
        "SIPFLOW_OUTBOX_DIR": str(tmp_path / "outbox"),
    }
    log = tmp_path / "gunicorn.log"
    # The README's production command, run from the project folder (where gunicorn finds gunicorn.conf.py).
    with log.open("wb") as errors:
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "1", "wsgi:app"],
            cwd=PROJECT_ROOT,
            env=environment,
            stdout=subprocess.DEVNULL,
            stderr=errors,
        )
    try:
        try:
            status, headers = wait_for(f"http://127.0.0.1:{port}/healthz", server)
        except (urllib.error.URLError, ConnectionError):
            raise AssertionError(log.read_text()) from None
        missing_status, missing_headers = fetch(f"http://127.0.0.1:{port}/no-such-page")
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    assert status in (200, 503) and missing_status == 404
    for answer in (headers, missing_headers):
        assert "gunicorn" not in " ".join(answer.get_all("Server") or []).lower()
        assert "gunicorn" not in str(answer).lower()
