"""flask --app wsgi sipflow outbox ...: deliver the e-mail outbox by hand."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from sipflow.notifications.outbox import JOB_LIMIT, deliver_due

outbox_group = click.Group(
    "outbox", help="The e-mail outbox: rows written with each change, sent after commit."
)


@outbox_group.command("deliver")
@click.option(
    "--limit",
    type=click.IntRange(1, JOB_LIMIT),
    default=100,
    show_default=True,
    help=f"At most this many messages in this run (1 to {JOB_LIMIT:,}, as the scheduled job).",
)
@with_appcontext
def deliver(limit: int):
    """Deliver the messages that are due (new, or waiting for a retry), once, and print the counts."""
    report = deliver_due(current_app._get_current_object(), limit=limit)
    click.echo(str(report))
