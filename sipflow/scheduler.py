"""The scheduler process: `flask --app wsgi sipflow scheduler` runs the periodic jobs; web workers never do.

APScheduler 3.x (a BlockingScheduler with the in-memory job store) is only the clock: what a job must do
is found in the database each time, and every job is idempotent, so a run repeated after a crash or a
restart does nothing twice. Each area registers its own jobs in `sipflow.jobs` (retention nightly, the
outbox every 30 seconds); this module runs whatever is registered and imports no area.

Only one scheduler process is active at a time. On PostgreSQL it holds a session-level advisory lock on a
connection of its own; a second process waits and asks again every SIPFLOW_SCHEDULER_RETRY_SECONDS, and
takes over when the first one's connection ends. On SQLite (one host) an exclusive lock on a file in the
instance folder does the same.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import signal
import threading
from collections.abc import Callable
from contextlib import nullcontext
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from sipflow.clock import STOCKHOLM, date_window, frozen, now_utc, within_date_window
from sipflow.jobs import JOBS, Job

log = logging.getLogger(__name__)

# The advisory lock's key: a fixed 64-bit number derived from a name, the same in every process.
LOCK_KEY = int.from_bytes(hashlib.sha256(b"sipflow.scheduler").digest()[:8], "big", signed=True)
LEADER_CHECK_SECONDS = 60
# Leader checks the lock's session may miss before the server ends it (idle_session_timeout): a leader whose
# machine vanished sends nothing more and never closes its connection, and its lock would last until TCP
# keepalive gave up on it (some two hours and a quarter); the other node leads within these checks instead.
LEADER_SILENT_CHECKS = 3
_LOCK_TAKEN = text(
    "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 1"
    " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
    " AND classid::bigint = :high AND objid::bigint = :low)"
)


# --- The nightly jobs' clock --------------------------------------------------------------------------


@cache
def wall_clock_cron_trigger() -> type:
    """The scheduler's cron trigger class (APScheduler is imported when a scheduler is built, never by
    the web workers, which import this module for /healthz)."""
    from apscheduler.triggers.cron import CronTrigger

    class WallClockCronTrigger(CronTrigger):
        """A cron trigger that counts its days on the wall clock of its time zone: once on every day,
        the nights the clocks change included.

        APScheduler 3's own counts a day on from a run as that many hours of UTC: the night the clocks
        go forward a job at 00:01 found 01:01 the next day, past its time, and skipped that day, and the
        night they go back a job at 02:30 ran in both passes of the repeated hour. Here the next run is
        found among wall-clock times (a UTC trigger reading the local time as if it were UTC), then placed
        in the zone: a time the spring night skips runs an hour later, a repeated one at its first pass.
        """

        def __init__(self, *, timezone, **fields) -> None:
            super().__init__(timezone=timezone, **fields)
            self._wall = CronTrigger(timezone=UTC, **fields)

        def _wall_time(self, at: datetime) -> datetime:
            return at.astimezone(self.timezone).replace(tzinfo=UTC, fold=0)

        def get_next_fire_time(self, previous_fire_time, now):
            wall_now = self._wall_time(now)
            wall_previous = None if previous_fire_time is None else self._wall_time(previous_fire_time)
            if wall_previous is not None and wall_now <= wall_previous:
                # The autumn's repeated hour: the wall clock is back before the run it has made.
                wall_now = wall_previous + timedelta(microseconds=1)
            following = self._wall.get_next_fire_time(wall_previous, wall_now)
            if following is None:
                return None
            placed = following.replace(tzinfo=self.timezone)
            if placed.astimezone(UTC) < now.astimezone(UTC):  # in one zone, Python compares wall times
                # Started in the autumn's repeated hour's second pass, its time in the first pass gone by:
                # the next day's (a run in the past would run at once, a second run that night).
                return self.get_next_fire_time(placed, now)
            return placed

    return WallClockCronTrigger


# --- Jobs ------------------------------------------------------------------------------------------------


def run_job(app: Flask, job: Job) -> bool:
    """Run one job in an application context of its own; a failure is logged (False), the scheduler keeps
    going."""
    with app.app_context():
        try:
            job.func(app)
        except Exception:  # noqa: BLE001 - one failed run must not stop the process; the next run retries
            log.exception("scheduled job %s failed", job.id)
            return False
    return True


# --- One active scheduler --------------------------------------------------------------------------------


class PostgresLeaderLock:
    """A session-level advisory lock held on a connection of its own for as long as the process leads."""

    def __init__(self, engine: Engine, key: int = LOCK_KEY, *, checked: bool = False) -> None:
        self.engine = engine
        self.key = key
        # checked: a running scheduler asks held() every LEADER_CHECK_SECONDS, so its session may end when
        # it falls silent (a `--once` run asks nothing while its jobs run: its lock lasts to the end).
        self.checked = checked
        self.connection: Connection | None = None

    def acquire(self) -> bool:
        """Take the lock if no other process holds it; never waits."""
        connection = self.engine.connect()
        try:
            got = connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key}).scalar()
            if got and self._ends_silent_sessions():
                # The server ends the session, and so the lock, when the leader falls silent (held() asks
                # every LEADER_CHECK_SECONDS); release() sets it back before the pool has the connection.
                silence_ms = int(LEADER_SILENT_CHECKS * LEADER_CHECK_SECONDS * 1000)
                connection.execute(
                    text("SELECT set_config('idle_session_timeout', :ms, false)"), {"ms": str(silence_ms)}
                )
            connection.commit()  # the lock belongs to the session, not to this transaction
        except Exception:
            connection.close()
            raise
        if got:
            self.connection = connection
            return True
        connection.close()
        return False

    def _ends_silent_sessions(self) -> bool:
        """Whether this lock's session ends when its holder falls silent: a checked lock, on a server
        with idle_session_timeout (PostgreSQL 14 on; 13 keeps a silent node's lock until TCP keepalive
        gives up)."""
        return self.checked and (self.engine.dialect.server_version_info or (0,)) >= (14,)

    def held(self) -> bool:
        """Whether the lock's connection still lives (if it died, the lock went with it)."""
        if self.connection is None:
            return False
        try:
            self.connection.execute(text("SELECT 1"))
            self.connection.commit()
            return True
        except Exception:  # noqa: BLE001 - any failure means the session and so the lock are gone
            log.exception("the scheduler lost its database connection")
            return False

    def taken(self) -> bool:
        """Whether a process of this database holds the lock now, asked without taking it (pg_locks names a
        64-bit advisory key by its high and low 32 bits)."""
        key = self.key & 0xFFFF_FFFF_FFFF_FFFF
        with self.engine.connect() as connection:
            return bool(
                connection.execute(_LOCK_TAKEN, {"high": key >> 32, "low": key & 0xFFFF_FFFF}).scalar()
            )

    def release(self) -> None:
        """Give the lock up (closing the connection would too)."""
        if self.connection is None:
            return
        try:
            self.connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": self.key})
            if self._ends_silent_sessions():
                self.connection.execute(text("RESET idle_session_timeout"))
            self.connection.commit()
        except Exception:  # noqa: BLE001 - the connection is closed below either way
            log.warning("could not release the scheduler lock; closing its connection ends it")
        finally:
            self.connection.close()
            self.connection = None


class FileLeaderLock:
    """An exclusive, non-blocking lock on a file: one scheduler per SQLite database on one host."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.fd: int | None = None

    def acquire(self) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self.fd = fd
        return True

    def held(self) -> bool:
        return self.fd is not None

    def taken(self) -> bool:
        """Whether a process holds the lock now: a shared lock that cannot be had at once says so."""
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            return False  # no scheduler ever ran here
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        else:
            fcntl.flock(fd, fcntl.LOCK_UN)
            return False
        finally:
            os.close(fd)

    def release(self) -> None:
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None


def leader_lock(app: Flask, *, checked: bool = False):
    """The lock that elects the active scheduler for this app's database; checked: its holder asks held()
    every LEADER_CHECK_SECONDS (a running scheduler), so on PostgreSQL the lock ends when it falls silent."""
    engine = app.extensions["sipflow.engine"]
    if engine.dialect.name == "postgresql":
        return PostgresLeaderLock(engine, checked=checked)
    database = engine.url.database
    path = Path(database + ".scheduler.lock") if database and database != ":memory:" else None
    return FileLeaderLock(path or Path(app.config["INSTANCE_DIR"]) / "scheduler.lock")


def scheduler_status(app: Flask) -> str:
    """For /healthz: "active" when a scheduler process leads for this app's database, "none" when none
    does (reminders, retention and the outbox's retries stand still), "unknown" when that cannot be asked
    (the database is unreachable)."""
    try:
        return "active" if leader_lock(app).taken() else "none"
    except Exception:  # noqa: BLE001 - a health check answers; the database's own status says why
        return "unknown"


def wait_for_leadership(lock, *, retry_seconds: float, stop: threading.Event) -> bool:
    """Take the lock, asking again every retry_seconds; False when stop is set first.

    A database that cannot be asked (down, restarting, out of reach) is waited for as another scheduler is:
    the process stays, and leads once the database is back."""
    waiting_logged = unreachable_logged = False
    while not stop.is_set():
        try:
            got = lock.acquire()
        except Exception as error:  # noqa: BLE001 - whatever the database answered, ask again later
            if not unreachable_logged:
                log.warning(
                    "the scheduler lock cannot be asked for (%s); asking again every %s s",
                    type(error).__name__,
                    retry_seconds,
                )
                unreachable_logged = True
        else:
            if got:
                log.info("this scheduler is the active one")
                return True
            if not waiting_logged:
                log.info("another scheduler is active; asking again every %s s", retry_seconds)
                waiting_logged = True
        stop.wait(retry_seconds)
    return False


# --- The process -----------------------------------------------------------------------------------------


def build_scheduler(app: Flask, lock, *, on_lost: Callable[[], None]):
    """A BlockingScheduler with every registered job (sipflow.jobs) and a check that the lock is held."""
    from apscheduler.executors.pool import ThreadPoolExecutor
    from apscheduler.schedulers.blocking import BlockingScheduler

    scheduler = BlockingScheduler(
        timezone=STOCKHOLM,
        # The leader check has a thread of its own: jobs filling the pool must not keep it from asking after
        # the lock in time (LEADER_SILENT_CHECKS).
        executors={"default": ThreadPoolExecutor(max_workers=4), "leader": ThreadPoolExecutor(max_workers=1)},
        # A run missed while the process was down happens once when it is back (the jobs are idempotent).
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
    )
    for job in JOBS:
        options = {"next_run_time": now_utc()} if job.run_at_start else {}
        if job.trigger == "cron":
            trigger, trigger_args = (
                wall_clock_cron_trigger()(**{"timezone": STOCKHOLM, **job.trigger_args}),
                {},
            )
        else:
            trigger, trigger_args = job.trigger, job.trigger_args
        scheduler.add_job(
            run_job,
            trigger,
            args=(app, job),
            id=job.id,
            name=job.id,
            replace_existing=True,
            **trigger_args,
            **options,
        )

    def check_leadership() -> None:
        if not lock.held():
            log.error("the scheduler lock is lost; stopping the jobs until it is regained")
            on_lost()

    scheduler.add_job(
        check_leadership,
        "interval",
        seconds=LEADER_CHECK_SECONDS,
        id="leader-check",
        name="leader-check",
        executor="leader",
    )
    return scheduler


def run_scheduler(app: Flask, *, stop: threading.Event) -> None:
    """Lead or wait; while leading run the jobs; lock lost: wait again; return on stop."""
    retry = app.config["SCHEDULER_RETRY_SECONDS"]
    while not stop.is_set():
        lock = leader_lock(app, checked=True)
        if not wait_for_leadership(lock, retry_seconds=retry, stop=stop):
            return
        round_over = threading.Event()
        holder: dict = {}

        def halt(holder=holder) -> None:
            scheduler = holder.get("scheduler")
            if scheduler is not None and scheduler.running:
                scheduler.shutdown(wait=False)

        def halt_on_stop(round_over=round_over, halt=halt) -> None:
            while not round_over.is_set():
                if stop.wait(1):
                    halt()
                    return

        try:
            holder["scheduler"] = build_scheduler(app, lock, on_lost=halt)
            threading.Thread(target=halt_on_stop, name="scheduler-stop", daemon=True).start()
            holder["scheduler"].start()  # blocks until halt()
        finally:
            round_over.set()
            lock.release()


def parse_now(value: str) -> datetime:
    """An ISO 8601 instant with its offset or Z (2027-01-15T08:00:00Z), as aware UTC; else a usage error."""
    try:
        at = datetime.fromisoformat(value.strip())
    except ValueError:
        raise click.BadParameter("must be an ISO 8601 time such as 2027-01-15T08:00:00Z") from None
    if at.tzinfo is None or at.utcoffset() is None:
        raise click.BadParameter("needs its offset or Z, such as 2027-01-15T08:00:00Z")
    try:
        at = at.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00+01:00 lies before the first representable instant
        at = None
    # The dates the application takes anywhere: the jobs count years and days from it (retention, reminders).
    if at is None or not within_date_window(at):
        first, last = date_window()
        raise click.BadParameter(f"must fall between {first.isoformat()} and {last.isoformat()}")
    return at


def chosen_jobs(names: tuple[str, ...]) -> list[Job]:
    """The registered jobs --job names, in the order registered (none named: every job); an unknown name is
    a usage error naming the jobs there are."""
    known = {job.id for job in JOBS}
    unknown = [name for name in names if name not in known]
    if unknown:
        raise click.BadParameter(
            f"no job {', '.join(unknown)}; the jobs are: {', '.join(job.id for job in JOBS)}",
            param_hint="'--job'",
        )
    return [job for job in JOBS if not names or job.id in names]


def refuse_ahead(jobs: list[Job], at: datetime, now: datetime) -> None:
    """A usage error when a job that runs only at the real time (Job.real_time_only) would run as if it were
    at, a time ahead of now: what it does (retention anonymises cases) cannot be undone."""
    if at <= now:
        return
    refused = [job.id for job in jobs if job.real_time_only]
    if refused:
        others = [job.id for job in JOBS if not job.real_time_only]
        example = " ".join(f"--job {job_id}" for job_id in others)
        raise click.UsageError(
            f"{', '.join(refused)} runs only at the real time, not with --now ahead of it: what it does "
            f"cannot be undone. Choose the jobs to run as if it were then with --job (e.g. {example})."
        )


@click.command("scheduler")
@click.option("--once", is_flag=True, help="Run every job (or those --job names) once, then exit.")
@click.option(
    "--now",
    "at",
    default=None,
    metavar="TIME",
    callback=lambda _ctx, _param, value: None if value is None else parse_now(value),
    help="With --once: run the jobs as if it were TIME (ISO 8601 with Z or offset; 1900 to 100 years on). "
    "A job that cannot be undone (retention) is refused a TIME ahead of the real one.",
)
@click.option(
    "--job",
    "job_names",
    multiple=True,
    metavar="NAME",
    help="With --once: run only the job of this name (repeat for several; an unknown name lists them).",
)
@with_appcontext
def scheduler_command(once: bool, at: datetime | None, job_names: tuple[str, ...]):
    """Run the periodic jobs (reminders each minute, outbox each 30 s, retention nightly); one is active.

    With --once the exit status is 1 when a job failed (each job runs all the same)."""
    app = current_app._get_current_object()
    stop = threading.Event()
    if at is not None and not once:
        raise click.UsageError("--now only goes with --once")
    if job_names and not once:
        raise click.UsageError("--job only goes with --once")
    if once:
        chosen = chosen_jobs(job_names)
        if at is not None:
            refuse_ahead(chosen, at, now_utc())
        lock = leader_lock(app)
        if not lock.acquire():
            raise click.ClickException("another scheduler is active; it runs the jobs")
        try:
            # Every job reads the clock through now_utc(): frozen, the whole run happens at that moment.
            with frozen(at) if at is not None else nullcontext():
                failed = [job.id for job in chosen if not run_job(app, job)]
        finally:
            lock.release()
        if failed:
            raise click.ClickException(f"failed: {', '.join(failed)} (see the log)")
        return

    def request_stop(signum, _frame) -> None:
        log.info("scheduler stopping (signal %s)", signum)
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    run_scheduler(app, stop=stop)
