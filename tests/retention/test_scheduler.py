"""The scheduler process: jobs act once however often they run; one process leads; web workers have none."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from datetime import timedelta

import pytest
from apscheduler.triggers.cron import CronTrigger
from sqlmodel import Session, func, select

from sipflow import create_app
from sipflow.clock import STOCKHOLM, now_utc
from sipflow.config import PROJECT_ROOT
from sipflow.jobs import JOBS
from sipflow.people.models import Person
from sipflow.retention.jobs import retention_job
from sipflow.retention.models import AnonymisedCase
from sipflow.scheduler import (
    FileLeaderLock,
    PostgresLeaderLock,
    build_scheduler,
    leader_lock,
    run_scheduler,
    scheduler_command,
    wait_for_leadership,
)

YEAR = timedelta(days=365)


@pytest.fixture
def expired_case(db_session, create_case):
    """Factory: a case closed eleven years before the real clock's now (the scheduler runs on it)."""

    def make():
        from sipflow.cases.models import TransitionLog

        case = create_case()
        ended = now_utc() - 11 * YEAR
        case.state, case.updated_at, case.questions = "closed", ended, "Fritext"
        db_session.add(case)
        db_session.add(
            TransitionLog(
                case_id=case.id, at=ended, trigger="close", from_state="follow_up", to_state="closed"
            )
        )
        db_session.commit()
        return case

    return make


def anonymised(engine) -> int:
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(AnonymisedCase)).one()


def persons(engine) -> list[tuple]:
    with Session(engine) as session:
        return [(p.id, p.id_number, p.given_name) for p in session.exec(select(Person).order_by(Person.id))]


# --- Jobs run twice act once ------------------------------------------------------------------------------


def test_the_retention_job_run_twice_acts_once(app, engine, expired_case):
    expired_case(), expired_case()
    assert retention_job(app) == 2
    after_first = persons(engine)
    assert retention_job(app) == 0
    assert persons(engine) == after_first
    assert anonymised(engine) == 2


def test_two_jobs_at_the_same_time_act_once(app, engine, expired_case):
    for _ in range(3):
        expired_case()
    results: list = []

    def run():
        try:
            results.append(retention_job(app))
        except Exception as error:  # noqa: BLE001 - a losing concurrent run may fail; it must not double
            results.append(error)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert anonymised(engine) == 3
    assert sum(r for r in results if isinstance(r, int)) == 3
    assert retention_job(app) == 0


def test_the_command_with_once_runs_every_job(app, engine, expired_case):
    expired_case()
    result = app.test_cli_runner().invoke(scheduler_command, ["--once"])
    assert result.exit_code == 0, result.output
    assert anonymised(engine) == 1


def test_the_command_refuses_a_time_outside_the_dates_the_application_takes(app, engine, expired_case):
    expired_case()
    for text in ("9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z"):
        result = app.test_cli_runner().invoke(scheduler_command, ["--once", "--now", text])
        assert result.exit_code == 2, result.output
        assert "Invalid value for '--now'" in result.output
    assert anonymised(engine) == 0


def test_the_command_with_once_fails_when_a_job_fails(tmp_path):
    """A database without the tables: every job that reads one fails, and the exit status says so."""
    empty = create_app(
        {
            "ENV_NAME": "testing",
            "TESTING": True,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'no-tables.sqlite3'}",
            "SECRET_KEY": "test-secret-key-0123456789",
            "OUTBOX_DIR": str(tmp_path / "outbox"),
            "INSTANCE_DIR": str(tmp_path),
        }
    )
    result = empty.test_cli_runner().invoke(scheduler_command, ["--once"])
    assert result.exit_code == 1, result.output
    assert "failed: " in result.output
    assert "retention" in result.output


def test_the_jobs(app):
    assert [job.id for job in JOBS] == [
        "statistics",
        "retention",
        "consent_coverage",
        "consent_ends",
        "reminders",
        "outbox",
    ]
    scheduler = build_scheduler(app, FileLeaderLock(PROJECT_ROOT / "unused.lock"), on_lost=lambda: None)
    retention = scheduler.get_job("retention")
    assert isinstance(retention.trigger, CronTrigger)
    assert str(retention.trigger) == "cron[hour='2', minute='30']"
    assert retention.trigger.timezone == STOCKHOLM
    statistics = scheduler.get_job("statistics")
    assert str(statistics.trigger) == "cron[hour='3', minute='15']"
    assert statistics.trigger.timezone == STOCKHOLM
    # Just after midnight in Sweden: a consent in force on its last day covers it to the day's end.
    coverage = scheduler.get_job("consent_coverage")
    assert str(coverage.trigger) == "cron[hour='0', minute='0', second='30']"
    assert coverage.trigger.timezone == STOCKHOLM
    # After it: a consent that ran out moves the reminders ahead of the next organisation's consent's end.
    consent_ends = scheduler.get_job("consent_ends")
    assert str(consent_ends.trigger) == "cron[hour='0', minute='1']"
    assert consent_ends.trigger.timezone == STOCKHOLM
    assert scheduler.get_job("leader-check") is not None
    assert not scheduler.running


# --- One active scheduler ---------------------------------------------------------------------------------


def test_only_one_process_holds_the_scheduler_lock(app, tmp_path):
    first, second = leader_lock(app), leader_lock(app)
    expected = (
        PostgresLeaderLock
        if app.extensions["sipflow.engine"].dialect.name == "postgresql"
        else FileLeaderLock
    )
    assert isinstance(first, expected)
    try:
        assert first.acquire()
        assert first.held()
        assert not second.acquire()
        first.release()
        assert not first.held()
        assert second.acquire()
    finally:
        first.release()
        second.release()


def test_a_waiting_scheduler_asks_again_until_it_leads():
    class Busy:
        attempts = 0

        def acquire(self):
            self.attempts += 1
            return self.attempts == 3

    lock = Busy()
    assert wait_for_leadership(lock, retry_seconds=0, stop=threading.Event())
    assert lock.attempts == 3


def test_a_waiting_scheduler_waits_for_a_database_it_cannot_reach(caplog):
    """Asking for the lock while the database is down raised and ended the scheduler process."""

    class DatabaseBackLater:
        attempts = 0

        def acquire(self):
            self.attempts += 1
            if self.attempts < 4:
                raise ConnectionRefusedError("the database is restarting")
            return True

    lock = DatabaseBackLater()
    assert wait_for_leadership(lock, retry_seconds=0, stop=threading.Event())
    assert lock.attempts == 4
    told = [r.getMessage() for r in caplog.records if "cannot be asked for" in r.getMessage()]
    assert told == ["the scheduler lock cannot be asked for (ConnectionRefusedError); asking again every 0 s"]


def test_a_waiting_scheduler_gives_up_when_stopped():
    class Never:
        def acquire(self):
            return False

    stop = threading.Event()
    stop.set()
    assert not wait_for_leadership(Never(), retry_seconds=3600, stop=stop)


def test_the_scheduler_runs_the_jobs_and_stops(app, engine, expired_case):
    """The real BlockingScheduler: it leads, runs retention at start, and stops on request."""
    expired_case()
    other = leader_lock(app)
    stop = threading.Event()
    thread = threading.Thread(target=run_scheduler, args=(app,), kwargs={"stop": stop}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while anonymised(engine) == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert anonymised(engine) == 1
        assert not other.acquire()  # the running scheduler holds the lock
    finally:
        stop.set()
        thread.join(timeout=30)
    assert not thread.is_alive()
    assert other.acquire()  # released on stop
    other.release()


def test_the_web_application_starts_no_scheduler(tmp_path):
    """Importing wsgi (as every gunicorn worker does) imports no APScheduler and starts no thread."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIPFLOW_")}
    env["SIPFLOW_INSTANCE_DIR"] = str(tmp_path)
    code = (
        "import sys, threading, wsgi\n"
        "print('apscheduler' in sys.modules)\n"
        # The only other thread allowed: the rate limiter's in-memory store expires keys with a short Timer.
        "print(*sorted({type(t).__name__ for t in threading.enumerate()}), sep=',')"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    imported, threads = result.stdout.splitlines()
    assert imported == "False"
    assert set(threads.split(",")) <= {"_MainThread", "Timer"}, threads
