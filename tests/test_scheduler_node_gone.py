"""Two scheduler nodes on one PostgreSQL database: the leader's node vanishes, the other takes over.

A node whose machine stops (a power cut, a frozen virtual machine, a cable pulled) sends nothing more and
never closes its connection: PostgreSQL keeps that session, and with it the scheduler's advisory lock, until
the operating system's TCP keepalive gives up on it, some two hours and a quarter. The lock's session ends on
the server when the leader has not asked after its lock for three leader checks (idle_session_timeout), so
the other node leads within minutes. A stopped process (SIGSTOP) is such a node, seen from the server.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import threading
import time

import pytest
from schedulerkit import marked_pids, marking_node, wait_for
from sqlalchemy.engine import make_url

from sipflow.config import PROJECT_ROOT

pytestmark = pytest.mark.postgresql


def test_the_other_node_leads_when_the_leaders_node_falls_silent(app, tmp_path):
    marker = tmp_path / "marks"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIPFLOW_")}
    env["SIPFLOW_INSTANCE_DIR"] = str(tmp_path)
    command = marking_node(app.config["DATABASE_URL"], marker, leader_check_seconds=1)
    nodes = [
        subprocess.Popen(
            command, cwd=PROJECT_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        for _ in range(2)
    ]
    try:
        assert wait_for(lambda: len(marked_pids(marker)) >= 3, 60)
        leaders = set(marked_pids(marker))
        assert len(leaders) == 1  # the other one waits
        (leader,) = leaders
        survivor = next(node for node in nodes if node.pid != leader)
        os.kill(leader, signal.SIGSTOP)  # its connection stays open and silent, as a vanished machine's
        seen = len(marked_pids(marker))
        assert wait_for(lambda: survivor.pid in marked_pids(marker)[seen:], 60)
        assert survivor.poll() is None
    finally:
        for node in nodes:
            if node.poll() is None:
                node.kill()  # a stopped process dies of SIGKILL too
                node.wait(timeout=30)


def test_only_a_running_schedulers_lock_ends_when_silent_and_the_pool_gets_its_connection_back_as_it_was(app):
    from sqlalchemy import text

    from sipflow.scheduler import leader_lock

    engine = app.extensions["sipflow.engine"]
    show = text("SHOW idle_session_timeout")
    running, once = leader_lock(app, checked=True), leader_lock(app)
    try:
        assert running.acquire()
        assert running.connection.execute(show).scalar() == "3min"
        running.release()
        with engine.connect() as connection:  # the pool's connection the lock had
            assert connection.execute(show).scalar() == "0"
        assert once.acquire()
        assert once.connection.execute(show).scalar() == "0"
    finally:
        running.release()
        once.release()


class Relay:
    """A TCP relay to the database server that can be cut (its listener and every connection closed) and
    started again on the same port: this node's database goes away and comes back, no other's does."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.port = 0
        self.sockets: list[socket.socket] = []
        self.listener: socket.socket | None = None

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen()
        self.port, self.listener = listener.getsockname()[1], listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.target)
            self.sockets += [client, server]
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread: no new connection
        self.listener.close()
        for end in self.sockets:
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)
            end.close()
        self.sockets = []


def test_a_scheduler_whose_database_went_away_waits_for_it_and_leads_again(app, tmp_path):
    """It lost its lock with the connection; asking for the lock again while the database cannot be reached
    raised, and the scheduler process ended with a traceback instead of waiting (README: it "leads again once
    the database is back"), so a node without a supervisor ran no job again."""
    url = make_url(app.config["DATABASE_URL"])
    relay = Relay(url.host or "127.0.0.1", url.port or 5432)
    relay.start()
    marker = tmp_path / "marks"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIPFLOW_")}
    env["SIPFLOW_INSTANCE_DIR"] = str(tmp_path)
    through_relay = url.set(host="127.0.0.1", port=relay.port).render_as_string(hide_password=False)
    command = marking_node(through_relay, marker, leader_check_seconds=1)
    node = subprocess.Popen(
        command, cwd=PROJECT_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        assert wait_for(lambda: len(marked_pids(marker)) >= 2, 60)
        relay.cut()
        time.sleep(5)  # the leader check (every second) finds the lock lost and asks for it again, in vain
        assert node.poll() is None, node.stderr.read().decode()[-2000:]
        seen = len(marked_pids(marker))
        relay.start()
        assert wait_for(lambda: len(marked_pids(marker)) > seen + 1, 60)
        assert node.poll() is None
    finally:
        relay.cut()
        if node.poll() is None:
            node.kill()
        node.wait(timeout=30)
