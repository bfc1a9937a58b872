"""The periodic jobs, registered by the area that owns each one; `sipflow.scheduler` runs them.

An area registers its jobs when the app is built (`create_app` calls the area's subscribe function), so the
scheduler imports no area. A job is found again by its id: registering an id a second time replaces the
job in place and keeps the order of first registration.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from flask import Flask


@dataclass(frozen=True)
class Job:
    """A periodic job: an id, the function run(app) and its APScheduler trigger (cron or interval)."""

    id: str
    func: Callable[[Flask], object]
    trigger: str
    trigger_args: dict = field(default_factory=dict)
    run_at_start: bool = False
    # A job whose acts cannot be undone (retention anonymises cases): `scheduler --once --now TIME` refuses
    # to run it as if it were a time ahead of the real one.
    real_time_only: bool = False


# Every registered job, in the order first registered.
JOBS: list[Job] = []


def register_job(
    job_id: str,
    func: Callable[[Flask], object],
    trigger: str,
    *,
    run_at_start: bool = False,
    real_time_only: bool = False,
    **trigger_args,
) -> Job:
    """Register func as the job job_id, run on trigger ("cron" or "interval") with trigger_args.

    real_time_only: what the job does cannot be undone, so it never runs on a clock set ahead (Job)."""
    job = Job(job_id, func, trigger, trigger_args, run_at_start, real_time_only)
    for index, known in enumerate(JOBS):
        if known.id == job_id:
            JOBS[index] = job
            return job
    JOBS.append(job)
    return job
