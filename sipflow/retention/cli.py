"""flask --app wsgi sipflow retention ...: run the retention job by hand."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from sipflow.i18n import cli_count
from sipflow.retention.jobs import retention_job

retention_group = click.Group("retention", help="Retention: anonymise cases whose retention has run out.")


@retention_group.command("run")
@with_appcontext
def run():
    """Anonymise every case whose retention has run out (and their persons when due), once."""
    count = retention_job(current_app._get_current_object())
    click.echo(f"anonymised {cli_count(count, 'case')}")
