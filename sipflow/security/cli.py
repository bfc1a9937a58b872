"""flask --app wsgi sipflow access-log ...: check the access log's hash chain."""

from __future__ import annotations

import click
from flask.cli import with_appcontext
from sqlmodel import Session, func, select

from sipflow.db import get_engine
from sipflow.i18n import cli_count
from sipflow.security.audit import AccessLogEntry, verify_chain

access_log_group = click.Group("access-log", help="The access log (who saw which SIP, when and why).")


@access_log_group.command("verify")
@with_appcontext
def verify():
    """Check every row's hash, the numbering and the head; exit 1 when anything was changed or removed."""
    with Session(get_engine()) as session:
        problems = verify_chain(session)
        entries = session.exec(select(func.count()).select_from(AccessLogEntry)).one()
    if problems:
        for problem in problems:
            click.echo(problem, err=True)
        found = f"{cli_count(len(problems), 'problem')} in {cli_count(entries, 'entry', 'entries')}"
        click.echo(f"access log NOT intact: {found}", err=True)
        raise SystemExit(1)
    click.echo(f"access log intact: {cli_count(entries, 'entry', 'entries')}")
