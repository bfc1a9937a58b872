"""flask --app wsgi sipflow retention ...: run the retention job by hand."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlmodel import Session

from sipflow.clock import now_utc
from sipflow.db import get_engine
from sipflow.retention.anonymise import RetentionPolicy, run_retention

retention_group = click.Group("retention", help="Retention: anonymise cases whose retention has run out.")


@retention_group.command("run")
@with_appcontext
def run():
    """Anonymise every case whose retention has run out (and their persons when due), once."""
    policy = RetentionPolicy.from_config(current_app.config)
    with Session(get_engine(), expire_on_commit=False) as session:
        count = run_retention(session, now=now_utc(), policy=policy)
    click.echo(f"anonymised {count} cases")
