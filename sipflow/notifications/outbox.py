"""The outbox: enqueue e-mails inside the caller's transaction, deliver them after commit, each at most once.

A row moves pending -> sending -> sent. Whoever delivers first claims the row with a compare-and-set
UPDATE (pending -> sending, a batch of rows per UPDATE) and commits the claim before talking to the relay, so
two deliverers (threads, web workers, the scheduler) never send one row twice. One SMTP connection serves a
whole run; the rows of a batch the relay took are marked sent with one UPDATE. A transient failure puts the
row back to pending with a growing delay until OUTBOX_MAX_ATTEMPTS; a permanent one fails it at once. A row
still `sending` long after its claim belonged to a process that died mid-send: it becomes `uncertain`, never
sent again.
Logs name the row id, kind and case id only: never the recipient, the subject or the body.
"""

from __future__ import annotations

import email.policy
import logging
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses, make_msgid

from flask import Flask, current_app, has_app_context
from sqlalchemy import update
from sqlalchemy.orm import aliased
from sqlalchemy.sql.selectable import ScalarSelect
from sqlmodel import Session, col, select

from sipflow import db, jobs
from sipflow.clock import now_utc
from sipflow.notifications.models import OUTBOX_KINDS, OutboxMessage
from sipflow.notifications.transports import PERMANENT, TRANSIENT, UNCERTAIN, DeliveryError, transport_for

log = logging.getLogger(__name__)

# Delay before the next attempt after the n-th failed one; the last value repeats.
BACKOFF_MINUTES = (1, 5, 15, 60, 240)
# A claim older than this without an outcome belongs to a process that died while sending.
STALE_CLAIM = timedelta(minutes=15)
SUBJECT_MAX = 300
# Rows claimed per commit: one UPDATE claims them, one UPDATE marks those the relay took as sent. A process
# that dies mid-batch leaves at most this many rows uncertain.
CLAIM_BATCH = 50
# The scheduler's outbox job drains a backlog up to this many messages per run (a run every 30 s).
JOB_LIMIT = 10_000
# After a request found the relay down, the requests of this process leave their mail to the scheduler for
# this long instead of each waiting for the relay (up to SMTP_TIMEOUT_SECONDS) after its commit.
RELAY_DOWN_PAUSE = 60
# app.extensions key: per relay (host, port), the monotonic time until which requests leave it alone.
RELAY_DOWN_KEY = "sipflow.outbox.relay_down_until"
# session.info: the ids of the rows a transaction wrote; the after-commit hook delivers them (a rollback
# forgets them), at most AFTER_COMMIT_LIMIT: the rest of a directory import's invitations is the scheduler's.
OUTBOX_PENDING = "sipflow.outbox_pending"
AFTER_COMMIT_LIMIT = 100
# RFC 3834's Auto-Submitted of each kind no person writes, so an out-of-office responder does not answer it
# (its note would come to MAIL_FROM and be forwarded to the human mailbox) nor a forward of it. An invitation
# (request, update, cancel) goes out in its booker's name, and an invitee's absence note is for them.
AUTO_SUBMITTED = {
    "reminder": "auto-generated",
    "plan_link": "auto-generated",
    "password": "auto-generated",
    "forward": "auto-forwarded",
}
# Line breaks, tabs and other control characters (category C*), which no header may carry.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


@dataclass
class _Claimed:
    """What the deliverer reads of a row it claimed, and what became of it in this run."""

    id: int
    kind: str
    case_id: int | None
    recipient: str
    message: str
    attempts: int
    sent: bool = False
    stop: bool = False


@dataclass
class DeliveryReport:
    """What one delivery run did: rows sent, put back for a retry, failed for good, or found uncertain."""

    sent: int = 0
    retry: int = 0
    failed: int = 0
    uncertain: int = 0
    # The run stopped because the relay could not be reached (DeliveryError.server_down).
    relay_down: bool = False

    def __str__(self) -> str:
        return f"sent {self.sent}, retry later {self.retry}, failed {self.failed}, uncertain {self.uncertain}"


def backoff(attempts: int) -> timedelta:
    """The wait before the next attempt after `attempts` attempts have failed."""
    return timedelta(minutes=BACKOFF_MINUTES[min(max(attempts, 1), len(BACKOFF_MINUTES)) - 1])


def _seven_bit(message: EmailMessage) -> None:
    """Re-encode every 8bit or binary leaf part as quoted-printable (text) or base64, keeping its headers."""
    for part in message.walk():
        if part.is_multipart():
            continue
        cte = str(part.get("Content-Transfer-Encoding", "7bit")).strip().lower()
        if cte not in ("8bit", "binary"):
            continue
        # set_content drops every Content-* header: keep the ones it does not write itself.
        kept = [
            (name, value)
            for name, value in part.items()
            if name.lower().startswith("content-")
            and name.lower() not in ("content-type", "content-transfer-encoding")
        ]
        params = {k: v for k, v in part.get_params()[1:] if k.lower() != "charset"}
        had_version = "MIME-Version" in part
        content = part.get_content()
        if isinstance(content, str):
            part.set_content(
                content, subtype=part.get_content_subtype(), cte="quoted-printable", params=params
            )
        else:
            part.set_content(
                content, part.get_content_maintype(), part.get_content_subtype(), cte="base64", params=params
            )
        for name, _value in kept:
            del part[name]
        for name, value in kept:
            part[name] = value
        if not had_version:
            del part["MIME-Version"]


def header_name(name: str) -> str:
    """name as one header line: every run of white space or control characters one space.

    The directory refuses a name with a line break; a row stored before it did must still not make
    Address() raise (every booking by that unit's staff would fail).
    """
    return " ".join(_CONTROL.sub(" ", name).split())


def sender_name(organisation: str | None = None) -> str:
    """The name sipflow's mail comes from (and its calendar ORGANIZER's): MAIL_FROM_NAME, with the
    organisation a mail speaks for (a meeting's booking organisation) when there is one."""
    base = current_app.config["MAIL_FROM_NAME"]
    return header_name(f"{base}, {organisation}" if organisation else base)


def sender(organisation: str | None = None) -> Address:
    """The From of every mail sipflow sends: sender_name(organisation) <MAIL_FROM>."""
    return Address(display_name=sender_name(organisation), addr_spec=current_app.config["MAIL_FROM"])


@dataclass(frozen=True)
class Outgoing:
    """One e-mail to queue (From, To and Subject set by the caller), with what its outbox row records."""

    message: EmailMessage
    kind: str
    case_id: int | None
    invitation_id: int | None
    # The reminder it tells (kind "reminder"): its sending's record of whom it reached.
    reminder_id: int | None = None
    # The language it is written in (a locale of i18n.LOCALES): its Content-Language.
    language: str | None = None


def enqueue(
    session: Session,
    message: EmailMessage,
    *,
    kind: str,
    case_id: int | None,
    invitation_id: int | None,
    now: datetime,
    reminder_id: int | None = None,
    language: str | None = None,
) -> OutboxMessage:
    """Write message (From, To and Subject set by the caller) as a pending outbox row; no delivery here.

    reminder_id: the reminder the message tells, recorded on the row (reminders/services.py). language: the
    locale it is written in, its Content-Language.
    """
    outgoing = Outgoing(message, kind, case_id, invitation_id, reminder_id, language)
    return enqueue_all(session, [outgoing], now=now)[0]


def enqueue_all(session: Session, outgoing: Sequence[Outgoing], *, now: datetime) -> list[OutboxMessage]:
    """Write each message as a pending outbox row, in one flush (a booking's invitations are many)."""
    rows = [_outbox_row(item, now=now) for item in outgoing]
    session.add_all(rows)
    session.flush()
    session.info.setdefault(OUTBOX_PENDING, []).extend(row.id for row in rows)
    for row in rows:
        log.info("outbox %s (%s, case %s) queued", row.id, row.kind, row.case_id)
    return rows


def _outbox_row(item: Outgoing, *, now: datetime) -> OutboxMessage:
    """The pending row of one message; ValueError when the message cannot be sent as it is."""
    message, kind = item.message, item.kind
    if kind not in OUTBOX_KINDS:
        raise ValueError(f"unknown outbox kind {kind!r}")
    addresses = [address for _name, address in getaddresses(message.get_all("To", [])) if address]
    if len(addresses) != 1 or not message.get("From"):
        raise ValueError("an outbox message needs a From and exactly one To address")
    if "Message-ID" not in message:
        domain = current_app.config["MAIL_FROM"].rpartition("@")[2]
        message["Message-ID"] = make_msgid(domain=domain)
    if "Date" not in message:
        message["Date"] = format_datetime(now)
    if item.language:
        # RFC 3282: the reader's client and screen reader read the text in its language (an HTML part also
        # says it in <html lang>; a plain-text part has nothing else).
        del message["Content-Language"]
        message["Content-Language"] = item.language
    if kind in AUTO_SUBMITTED:
        del message["Auto-Submitted"]
        message["Auto-Submitted"] = AUTO_SUBMITTED[kind]
    _seven_bit(message)
    text = message.as_string(policy=email.policy.SMTP)
    if not text.isascii():
        raise ValueError("an outbox message must be 7-bit: a part holds raw non-ASCII text")
    return OutboxMessage(
        kind=kind,
        case_id=item.case_id,
        invitation_id=item.invitation_id,
        reminder_id=item.reminder_id,
        recipient=addresses[0],
        subject=str(message.get("Subject", ""))[:SUBJECT_MAX],
        message=text,
        message_id=str(message["Message-ID"]).strip(),
        status="pending",
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )


def _mark_uncertain(session: Session, now: datetime) -> int:
    """Rows left in sending by a process that died: uncertain, so no one sends them a second time."""
    stale = session.exec(
        select(OutboxMessage.id, OutboxMessage.kind, OutboxMessage.case_id).where(
            OutboxMessage.status == "sending", col(OutboxMessage.claimed_at) < now - STALE_CLAIM
        )
    ).all()
    count = 0
    for row_id, kind, case_id in stale:
        result = session.exec(
            update(OutboxMessage)
            .where(col(OutboxMessage.id) == row_id, OutboxMessage.status == "sending")
            .values(status="uncertain", last_error="no outcome recorded after the claim; not resent")
            .execution_options(synchronize_session=False)
        )
        session.commit()
        if result.rowcount == 1:
            count += 1
            log.warning(
                "outbox %s (%s, case %s) uncertain: its delivery never finished", row_id, kind, case_id
            )
    return count


def _claim_batch(session: Session, now: datetime, size: int, only: Sequence[int] | None = None) -> list[int]:
    """Compare-and-set up to size due rows pending -> sending in one UPDATE, committed; the ids won. With
    only, none but those rows (a request's own mail).

    Only the winner of this UPDATE ever sends a row. On PostgreSQL a SELECT in the same transaction reads and
    locks the batch first with SKIP LOCKED, so a second deliverer takes the next rows instead of queueing
    behind this one; on SQLite the one statement runs under the database's write lock.

    A row waits while an earlier row of its invitation to the same address is still to be sent (pending, or
    sending elsewhere): an invitee's mails leave in the order written, so a cancellation or an update never
    reaches them before the invitation it changes that a failed attempt put back (the calendar would add the
    cancelled meeting); the invitation to a corrected address does not wait for the one to the wrong address.
    """
    earlier = aliased(OutboxMessage)
    unsent_before = (
        select(earlier.id)
        .where(
            earlier.invitation_id == OutboxMessage.invitation_id,
            earlier.recipient == OutboxMessage.recipient,
            earlier.id < OutboxMessage.id,
            col(earlier.status).in_(("pending", "sending")),
        )
        .exists()
    )
    due = (
        select(OutboxMessage.id)
        .where(OutboxMessage.status == "pending", col(OutboxMessage.next_attempt_at) <= now, ~unsent_before)
        .order_by(col(OutboxMessage.next_attempt_at), col(OutboxMessage.id))
        .limit(size)
    )
    if only is not None:
        due = due.where(col(OutboxMessage.id).in_(only))
    if only is None and session.get_bind().dialect.name == "postgresql":
        # The batch is read and locked first, then claimed. As a subquery of the UPDATE, PostgreSQL may run
        # the LIMIT ... FOR UPDATE SKIP LOCKED again for each row it scans (a nested loop), and each run skips
        # the rows the UPDATE has just claimed and returns the next: the UPDATE claimed every due row, a whole
        # backlog as one batch (a death mid-run left all of it uncertain, not at most a batch). A request's
        # own mail (only) is bounded by its ids, so it keeps the one statement a request's answer waits for.
        batch = list(session.exec(due.with_for_update(skip_locked=True)).all())
        if not batch:
            session.commit()
            return []
        chosen = col(OutboxMessage.id).in_(batch)
    else:
        chosen = col(OutboxMessage.id).in_(due.scalar_subquery())
    claimed = session.exec(
        update(OutboxMessage)
        .where(chosen, OutboxMessage.status == "pending")
        .values(status="sending", claimed_at=now, attempts=OutboxMessage.attempts + 1)
        .returning(OutboxMessage.id)
        .execution_options(synchronize_session=False)
    )
    ids = list(claimed.scalars().all())
    session.commit()
    return ids


def _claimed_rows(session: Session, ids: list[int]) -> list[_Claimed]:
    rows = session.exec(
        select(
            OutboxMessage.id,
            OutboxMessage.kind,
            OutboxMessage.case_id,
            OutboxMessage.recipient,
            OutboxMessage.message,
            OutboxMessage.attempts,
        )
        .where(col(OutboxMessage.id).in_(ids))
        .order_by(col(OutboxMessage.next_attempt_at), col(OutboxMessage.id))
    ).all()
    session.commit()  # end the read: nothing of the database is held while talking to the relay
    return [_Claimed(*row) for row in rows]


def _release(session: Session, ids: list[int]) -> None:
    """Put claimed rows that were never tried back to pending, their attempt not counted."""
    if not ids:
        return
    session.exec(
        update(OutboxMessage)
        .where(col(OutboxMessage.id).in_(ids), OutboxMessage.status == "sending")
        .values(status="pending", claimed_at=None, attempts=OutboxMessage.attempts - 1)
        .execution_options(synchronize_session=False)
    )
    session.commit()


def _mark_sent(session: Session, ids: list[int], now: datetime) -> None:
    # One UPDATE and one commit for the rows of a batch the relay accepted. Until it commits they stay
    # `sending`: a process that dies here leaves them to turn uncertain, never to be sent again.
    if not ids:
        return
    session.exec(
        update(OutboxMessage)
        .where(col(OutboxMessage.id).in_(ids), col(OutboxMessage.status).in_(("sending", "uncertain")))
        .values(status="sent", sent_at=now, last_error=None)
        .execution_options(synchronize_session=False)
    )
    session.commit()


def _finish(session: Session, row_id: int, **values) -> None:
    # Only the claimant writes the outcome of a claimed row (an uncertain one may still learn it was sent).
    session.exec(
        update(OutboxMessage)
        .where(col(OutboxMessage.id) == row_id, col(OutboxMessage.status).in_(("sending", "uncertain")))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    session.commit()


def deliver_due(
    app: Flask,
    *,
    now: datetime | None = None,
    limit: int = 100,
    batch: int = CLAIM_BATCH,
    only: Sequence[int] | None = None,
) -> DeliveryReport:
    """Deliver the pending rows due at now (at most limit; with only, none but those), claimed batch by
    batch; report what happened.

    One transport serves the whole run (one SMTP connection), closed at the end. Without now, each batch is
    claimed, and its outcome written, at the time it is taken: a run through a backlog on a slow relay may
    last longer than STALE_CLAIM, and a batch claimed at the run's start would look to another deliverer like
    one a dead process left (uncertain, while it is being sent).
    """
    pinned = now
    now = now or now_utc()
    report = DeliveryReport()
    sender = app.config["MAIL_FROM"]
    max_attempts = app.config["OUTBOX_MAX_ATTEMPTS"]
    engine = app.extensions["sipflow.engine"]
    with Session(engine, expire_on_commit=False) as session, transport_for(app.config) as transport:
        report.uncertain += _mark_uncertain(session, now)
        remaining = limit
        while remaining > 0:
            now = pinned or now_utc()
            ids = _claim_batch(session, now, min(batch, remaining), only)
            if not ids:
                break
            remaining -= len(ids)
            rows = _claimed_rows(session, ids)
            sent: list[int] = []
            stop = False
            for index, row in enumerate(rows):
                _send_one(session, transport, sender, row, now, max_attempts, report)
                if row.sent:
                    sent.append(row.id)
                elif row.stop:
                    # The relay is down: the rest of the batch goes back untried, for a later run.
                    _release(session, [later.id for later in rows[index + 1 :]])
                    stop = report.relay_down = True
                    break
            _mark_sent(session, sent, now)
            for row in rows:
                if row.sent:
                    report.sent += 1
                    log.info("outbox %s (%s, case %s) sent", row.id, row.kind, row.case_id)
            if stop:
                break
    if report.sent or report.retry or report.failed or report.uncertain:
        log.info("outbox delivery: %s", report)
    return report


def _send_one(
    session: Session, transport, sender: str, row: _Claimed, now, max_attempts: int, report: DeliveryReport
) -> None:
    """Send one claimed row: row.sent when the relay took it, else its failure written (stop: relay down)."""
    where = (row.id, row.kind, row.case_id)
    try:
        transport.send(outbox_id=row.id, sender=sender, recipient=row.recipient, message=row.message, now=now)
    except DeliveryError as error:
        if _record_failure(session, row, error, now, max_attempts, report):
            log.warning("outbox delivery paused: the relay cannot be reached (%s)", error.summary)
            row.stop = True
        return
    except Exception as error:  # noqa: BLE001 - an unexpected failure must not leave the row sending
        log.exception("outbox %s (%s, case %s): unexpected error while sending", *where)
        failure = DeliveryError(TRANSIENT, f"unexpected error: {type(error).__name__}")
        _record_failure(session, row, failure, now, max_attempts, report)
        return
    row.sent = True


def _record_failure(
    session: Session,
    row: _Claimed,
    error: DeliveryError,
    now: datetime,
    max_attempts: int,
    report: DeliveryReport,
) -> bool:
    """Write the outcome of a failed attempt; True when the relay is down and the run should stop."""
    where = (row.id, row.kind, row.case_id)
    if error.outcome == UNCERTAIN:
        _finish(session, row.id, status="uncertain", last_error=error.reason)
        report.uncertain += 1
        log.warning("outbox %s (%s, case %s) uncertain: %s", *where, error.summary)
    elif error.outcome == PERMANENT or row.attempts >= max_attempts:
        _finish(session, row.id, status="failed", last_error=error.reason)
        report.failed += 1
        log.warning(
            "outbox %s (%s, case %s) failed after %d attempts: %s", *where, row.attempts, error.summary
        )
    else:
        retry_at = now + backoff(row.attempts)
        _finish(session, row.id, status="pending", next_attempt_at=retry_at, last_error=error.reason)
        report.retry += 1
        log.info(
            "outbox %s (%s, case %s) attempt %d failed, retry at %s: %s",
            *where,
            row.attempts,
            retry_at.isoformat(),
            error.summary,
        )
    return error.server_down


ADDRESS_CHANGED = "not sent: the invitee's address was changed before it went out"


def drop_unsent_to(session: Session, invitation_id: int, recipient: str) -> int:
    """The invitation's mails to recipient still waiting (pending: a 4xx or a relay down put them off) are not
    sent: the invitee's address was changed, and the old one (mistyped, perhaps a stranger's) gets nothing
    more. They are marked failed with ADDRESS_CHANGED; a mail a deliverer is sending now is left to finish.
    The number of mails dropped."""
    result = session.exec(
        update(OutboxMessage)
        .where(
            OutboxMessage.invitation_id == invitation_id,
            OutboxMessage.recipient == recipient,
            OutboxMessage.status == "pending",
        )
        .values(status="failed", last_error=ADDRESS_CHANGED)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount


def newest_mail_id(invitation_id) -> ScalarSelect:
    """The id of the newest outbox row of the invitation whose id the column or value invitation_id holds
    (NULL: none), as a correlated subquery: a read of invitations joins each one's delivery with it
    (ix_outboxmessage_invitation_id; an invitation has a few rows: its request and each update)."""
    # An alias: the read that joins the row it names has outboxmessage in its FROM already.
    mail = _NEWEST_MAIL
    return (
        select(mail.id)
        .where(mail.invitation_id == invitation_id)
        .order_by(mail.created_at.desc(), mail.id.desc())
        .limit(1)
        .correlate_except(mail)
        .scalar_subquery()
    )


_NEWEST_MAIL = aliased(OutboxMessage, name="newest_mail")


def deliver_after_commit(session: Session) -> None:
    """Deliver the rows the committed transaction wrote (OUTBOX_DELIVERY=after_commit), and no others.

    A failure leaves them pending, for the scheduler's outbox job. A relay found down (refused, or taking
    the connection and never answering: the whole SMTP timeout) is left alone by this process's requests
    for RELAY_DOWN_PAUSE, so a booking does not wait for it each time during an outage. Mail other
    requests left (a backlog after an outage) is the scheduler's: a request that sent it would keep its user
    waiting, past gunicorn's worker timeout on a slow relay, and a worker killed mid-batch leaves the rows it
    held uncertain, never sent.
    """
    written = session.info.pop(OUTBOX_PENDING, None)
    if not written or not has_app_context():
        return
    app = current_app._get_current_object()
    if app.config.get("OUTBOX_DELIVERY") != "after_commit":
        return
    down_until = app.extensions.setdefault(RELAY_DOWN_KEY, {})
    relay = (app.config.get("SMTP_HOST"), app.config.get("SMTP_PORT"))
    if time.monotonic() < down_until.get(relay, 0.0):
        return  # found down a moment ago: the scheduler's outbox job tries it every 30 s
    try:
        own = written[:AFTER_COMMIT_LIMIT]
        report = deliver_due(app, limit=len(own), only=own)
    except Exception:  # noqa: BLE001 - the change is committed; the scheduler delivers what is left
        log.exception("outbox delivery after commit failed; the scheduler retries")
        return
    if report.relay_down:
        down_until[relay] = time.monotonic() + RELAY_DOWN_PAUSE
        log.warning(
            "outbox: the relay is down; requests leave their mail to the scheduler for %d s", RELAY_DOWN_PAUSE
        )
    else:
        down_until.pop(relay, None)


def forget_after_rollback(session: Session) -> None:
    """Rows rolled back are no mail to send: forget the flag with them."""
    session.info.pop(OUTBOX_PENDING, None)


def outbox_job(app: Flask, *, now: datetime | None = None) -> DeliveryReport:
    """Deliver the outbox rows that are due (new, or waiting for a retry); returns the DeliveryReport."""
    return deliver_due(app, now=now, limit=JOB_LIMIT)


def subscribe() -> None:
    """Deliver after every commit that wrote mail, and every 30 s whatever is left (the scheduler's job)."""
    db.register_after_commit(deliver_after_commit)
    db.register_after_rollback(forget_after_rollback)
    # Mail written while no web request delivered it (OUTBOX_DELIVERY=scheduler, or a failed attempt).
    jobs.register_job("outbox", outbox_job, "interval", run_at_start=True, seconds=30)
