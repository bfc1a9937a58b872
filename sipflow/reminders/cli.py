"""flask --app wsgi sipflow reminders ...: the reminders' rules applied again to what is still to send."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlmodel import Session

from sipflow.clock import now_utc
from sipflow.i18n import cli_count
from sipflow.reminders.services import reconcile_pending

reminders_group = click.Group("reminders", help="Reminders: those still to send, by the rules as they are.")


@reminders_group.command("reconcile")
@with_appcontext
def reconcile():
    """Reconcile the reminders of every case running or with one still to send (after an upgrade)."""
    app = current_app._get_current_object()
    with Session(app.extensions["sipflow.engine"]) as session:
        count = reconcile_pending(session, app.extensions["sipflow.workflows"], now=now_utc())
    click.echo(f"reconciled the reminders of {cli_count(count, 'case')}")
