"""The retention job: the scheduler runs it nightly, `sipflow retention run` by hand."""

from __future__ import annotations

import logging
from datetime import datetime

from flask import Flask
from sqlmodel import Session

from sipflow import jobs
from sipflow.clock import STOCKHOLM, now_utc
from sipflow.retention.anonymise import RetentionPolicy, run_retention

log = logging.getLogger(__name__)


def retention_job(app: Flask, *, now: datetime | None = None) -> int:
    """Anonymise the cases whose retention has run out; the number anonymised (0 when nothing was due)."""
    policy: RetentionPolicy = app.extensions["sipflow.retention"]
    # The areas' scrubbers read the app's settings (the outbox folder whose .eml files go): in its context.
    with app.app_context(), Session(app.extensions["sipflow.engine"], expire_on_commit=False) as session:
        count = run_retention(session, now=now or now_utc(), policy=policy)
    log.info("retention job: %d cases anonymised", count)
    return count


def subscribe() -> None:
    """Register the retention job with the scheduler."""
    # Daily at night, Swedish time; also once at start, so a scheduler restarted every day still runs it.
    # Anonymising cannot be undone: never as if it were a time ahead (`scheduler --once --now`).
    jobs.register_job(
        "retention",
        retention_job,
        "cron",
        run_at_start=True,
        real_time_only=True,
        hour=2,
        minute=30,
        timezone=STOCKHOLM,
    )
