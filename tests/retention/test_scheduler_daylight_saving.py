"""The nightly jobs run once on every Swedish day, the days the clocks change included.

APScheduler 3's own cron trigger counts a day on from a time of the day before a change as 24 hours of
UTC: after the spring night (2027-03-28) a job at 00:01 found 01:01 the next day, past its time, and skipped
to the day after, and in the autumn night (2027-10-31) retention at 02:30 ran in both of the hour's
passes. The scheduler's own cron trigger counts days on the Swedish wall clock.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta

from sipflow.clock import STOCKHOLM
from sipflow.jobs import JOBS
from sipflow.scheduler import FileLeaderLock, build_scheduler

FIRST_DAY, LAST_DAY = date(2027, 3, 20), date(2027, 11, 8)


def fire_days(trigger, start: datetime) -> Counter:
    """The Swedish day of each run from start to past LAST_DAY, asked as the running scheduler asks: at a
    moment just after the next run, the runs due by then (APScheduler's Job._get_run_times), then the next."""
    days: Counter = Counter()
    next_run = trigger.get_next_fire_time(None, start.astimezone(STOCKHOLM))
    while next_run.astimezone(STOCKHOLM).date() <= LAST_DAY:
        now = (next_run.astimezone(UTC) + timedelta(seconds=1)).astimezone(STOCKHOLM)
        runs = []
        while next_run is not None and next_run.astimezone(UTC) <= now.astimezone(UTC):
            runs.append(next_run)
            next_run = trigger.get_next_fire_time(next_run, now)
        days.update(run.astimezone(STOCKHOLM).date() for run in runs)
        next_run = trigger.get_next_fire_time(runs[-1], now)
    return days


def test_each_nightly_job_runs_once_a_day_through_both_changes_of_the_clock(app, tmp_path):
    scheduler = build_scheduler(app, FileLeaderLock(tmp_path / "unused.lock"), on_lost=lambda: None)
    start = datetime(2027, 3, 19, 12, tzinfo=UTC)
    nightly = [job.id for job in JOBS if job.trigger == "cron"]
    assert {"statistics", "retention", "consent_coverage", "consent_ends"} <= set(nightly)
    for job_id in nightly:
        days = fire_days(scheduler.get_job(job_id).trigger, start)
        wrong = {
            day.isoformat(): days[day]
            for day in (FIRST_DAY + timedelta(days=n) for n in range((LAST_DAY - FIRST_DAY).days + 1))
            if days[day] != 1
        }
        assert wrong == {}, job_id


def test_the_nightly_jobs_keep_their_swedish_time_on_the_days_after_the_changes(app, tmp_path):
    scheduler = build_scheduler(app, FileLeaderLock(tmp_path / "unused.lock"), on_lost=lambda: None)
    for job_id, day_before, expected in (
        ("consent_ends", datetime(2027, 3, 28, 0, 1, tzinfo=STOCKHOLM), datetime(2027, 3, 29, 0, 1)),
        (
            "consent_coverage",
            datetime(2027, 3, 28, 0, 0, 30, tzinfo=STOCKHOLM),
            datetime(2027, 3, 29, 0, 0, 30),
        ),
        ("retention", datetime(2027, 10, 31, 2, 30, tzinfo=STOCKHOLM), datetime(2027, 11, 1, 2, 30)),
        ("statistics", datetime(2027, 10, 31, 3, 15, tzinfo=STOCKHOLM), datetime(2027, 11, 1, 3, 15)),
    ):
        trigger = scheduler.get_job(job_id).trigger
        after = (day_before.astimezone(UTC) + timedelta(seconds=1)).astimezone(STOCKHOLM)
        following = trigger.get_next_fire_time(day_before, after)
        assert following.astimezone(STOCKHOLM).replace(tzinfo=None) == expected, job_id


def test_a_scheduler_started_in_the_autumns_repeated_hour_runs_no_job_again_that_night(app, tmp_path):
    # Started (a restart, or the other node taking over) at 02:10 of the second pass, 40 minutes after
    # retention's 02:30 of the first: the trigger gave that 02:30, in the past, and APScheduler ran it at
    # once, a second run that night. The next run is the next night's.
    scheduler = build_scheduler(app, FileLeaderLock(tmp_path / "unused.lock"), on_lost=lambda: None)
    trigger = scheduler.get_job("retention").trigger
    second_pass = datetime(2027, 10, 31, 1, 10, tzinfo=UTC)  # 02:10 CET, after 02:30 CEST (00:30 UTC)
    assert second_pass.astimezone(STOCKHOLM).fold == 1
    following = trigger.get_next_fire_time(None, second_pass.astimezone(STOCKHOLM))
    assert following.astimezone(UTC) == datetime(2027, 11, 1, 1, 30, tzinfo=UTC)
    # Started in the first pass before its time, it runs at that time, once.
    first_pass = datetime(2027, 10, 31, 0, 10, tzinfo=UTC)
    following = trigger.get_next_fire_time(None, first_pass.astimezone(STOCKHOLM))
    assert following.astimezone(UTC) == datetime(2027, 10, 31, 0, 30, tzinfo=UTC)
