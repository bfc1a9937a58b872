"""flask --app wsgi sipflow itip reply: hand sipflow a mail (or calendar reply) sent to SIPFLOW_MAIL_FROM.

Calendar clients send their answers by e-mail to SIPFLOW_MAIL_FROM; the mail server hands each message to
this command (for instance Postfix's pipe transport). A REPLY is recorded like one posted to /itip/reply;
any other mail is forwarded to the human mailbox (SIPFLOW_REPLY_TO, or the booker), so nothing bounces.
Exit status: 0 handled (recorded, ignored or forwarded), 1 unusable input, 75 (EX_TEMPFAIL) no mailbox to
forward to yet: the mail server keeps the mail and tries again. Running it needs a shell on the server, so
it asks for no secret.
"""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from sipflow.clock import now_utc
from sipflow.db import get_session, unit_of_work
from sipflow.meetings.forwarding import NoMailbox
from sipflow.meetings.ical import ReplyError
from sipflow.meetings.replies import MAIL_MAX_BYTES, receive

EX_TEMPFAIL = 75  # sysexits.h: Postfix and Exim defer the mail and retry
itip_group = click.Group("itip", help="Calendar (iTIP) messages that come back to sipflow.")


@itip_group.command("reply")
@click.argument("source", type=click.File("rb"), default="-")
@with_appcontext
def reply(source):
    """Record the iTIP REPLY in a mail (or .ics), or forward a mail that is none to the human mailbox."""
    data = source.read(MAIL_MAX_BYTES + 1)
    if len(data) > MAIL_MAX_BYTES:
        raise click.ClickException(f"too_large: the mail is larger than {MAIL_MAX_BYTES} bytes")
    session = get_session()
    try:
        with unit_of_work(session):
            outcome = receive(session, data, now=now_utc())
    except ReplyError as error:
        raise click.ClickException(f"{error.code}: {error}") from None
    except NoMailbox:
        click.echo(
            "no_mailbox: the mail is no calendar answer and no one to forward it to: set SIPFLOW_REPLY_TO"
        )
        click.get_current_context().exit(EX_TEMPFAIL)
    if outcome.action == "recorded":
        invitation = outcome.invitation
        click.echo(f"recorded {invitation.partstat} for invitation {invitation.id} (meeting {outcome.uid})")
    else:
        click.echo(f"{outcome.action}: {outcome.reason}")
