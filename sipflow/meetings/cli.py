"""flask --app wsgi sipflow itip reply: apply a calendar reply read from a file or standard input.

Calendar clients send their answers by e-mail to SIPFLOW_MAIL_FROM; a mail server can hand each such
message to this command (for instance Postfix's pipe transport), which records the answer like a REPLY
posted to /itip/reply.
"""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from sipflow.clock import now_utc
from sipflow.db import get_session, unit_of_work
from sipflow.meetings.ical import ReplyError, parse_reply
from sipflow.meetings.replies import ReplyRefused, apply_reply, extract_calendar

itip_group = click.Group("itip", help="Calendar (iTIP) messages that come back to sipflow.")


@itip_group.command("reply")
@click.argument("source", type=click.File("rb"), default="-")
@with_appcontext
def reply(source):
    """Record the answer in an iTIP REPLY (.ics or its e-mail); exit 1 with the reason if refused."""
    data = source.read(1_000_000)
    try:
        parsed = parse_reply(extract_calendar(data))
    except ReplyError as error:
        raise click.ClickException(f"{error.code}: {error}") from None
    session = get_session()
    try:
        with unit_of_work(session):
            invitation = apply_reply(session, parsed, now=now_utc())
    except ReplyRefused as error:
        raise click.ClickException(f"{error.code}: {error.message}") from None
    click.echo(f"recorded {invitation.partstat} for invitation {invitation.id} (meeting {parsed.uid})")
