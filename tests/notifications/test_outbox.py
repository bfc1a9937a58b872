"""The outbox: rows written in the caller's transaction, delivered after commit at most once, with retries.

Delivery goes to a real SMTP server (aiosmtpd, see smtpkit) or to the .eml file sink; no mocks.
"""

from __future__ import annotations

import logging
import os
import threading
from datetime import timedelta
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import parsedate_to_datetime

import pytest
from apscheduler.triggers.interval import IntervalTrigger
from smtpkit import SMTP_PASSWORD, SMTP_USER, free_port
from sqlmodel import Session, select
from support import FIXED_NOW

from sipflow.cases.models import Participant
from sipflow.clock import frozen, now_utc
from sipflow.config import PROJECT_ROOT
from sipflow.db import unit_of_work
from sipflow.jobs import JOBS
from sipflow.meetings.models import Invitation, Meeting
from sipflow.meetings.queries import invitation_rows
from sipflow.notifications.cli import outbox_group
from sipflow.notifications.models import OutboxMessage
from sipflow.notifications.outbox import (
    BACKOFF_MINUTES,
    OUTBOX_PENDING,
    STALE_CLAIM,
    backoff,
    deliver_due,
    enqueue,
    outbox_job,
)
from sipflow.notifications.transports import EML_NAME, FileTransport, SmtpTransport, transport_for
from sipflow.scheduler import FileLeaderLock, build_scheduler

RECIPIENT = "anna.andersson@example.se"
SUBJECT = "Kallelse till SIP-möte för Åsa"
BODY = "Hej!\n\nDu är välkommen till ett SIP-möte på vårdcentralen.\n"
MINUTE = timedelta(minutes=1)


def mail(to: str = RECIPIENT, subject: str = SUBJECT, body: str = BODY) -> EmailMessage:
    """A message as a caller builds it: From, To and Subject, a 7-bit text part."""
    message = EmailMessage()
    message["From"] = "SIP <sip@sipflow.localhost>"
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body, cte="quoted-printable")
    return message


def queue(session: Session, count: int = 1, *, now=FIXED_NOW, **kwargs) -> list[OutboxMessage]:
    """Enqueue count messages and commit them without any delivery (as if written by another process)."""
    rows = [
        enqueue(session, mail(**kwargs), kind="request", case_id=None, invitation_id=None, now=now)
        for _ in range(count)
    ]
    session.commit()
    session.info.pop(OUTBOX_PENDING, None)
    return rows


def plain_text(message: EmailMessage) -> str:
    """The text/plain part with the line ends of the wire (CRLF) read as newlines."""
    return message.get_body(("plain",)).get_content().replace("\r\n", "\n")


def fresh(engine, row_id: int) -> OutboxMessage:
    with Session(engine) as session:
        return session.get(OutboxMessage, row_id)


def statuses(engine) -> list[tuple[str, int]]:
    with Session(engine) as session:
        rows = session.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        return [(row.status, row.attempts) for row in rows]


@pytest.fixture
def file_sink(app, tmp_path):
    """The app writing .eml files into a folder of this test's own (no SMTP host)."""
    saved = {key: app.config[key] for key in ("OUTBOX_DIR", "SMTP_HOST")}
    folder = tmp_path / "outbox"
    app.config.update(OUTBOX_DIR=str(folder), SMTP_HOST="")
    yield folder
    app.config.update(saved)


# --- Enqueue ---------------------------------------------------------------------------------------------


def test_enqueue_writes_a_pending_row_and_sends_nothing(smtp_app, smtp_server, db_session, now):
    message = mail()
    row = enqueue(db_session, message, kind="request", case_id=None, invitation_id=None, now=now)
    assert row.id is not None  # flushed
    assert db_session.info[OUTBOX_PENDING] == [row.id]  # the request delivers it after commit
    assert (row.status, row.attempts, row.next_attempt_at, row.created_at) == ("pending", 0, now, now)
    assert (row.recipient, row.subject, row.kind) == (RECIPIENT, SUBJECT, "request")
    assert row.message_id.startswith("<") and row.message_id.endswith("@sipflow.localhost>")
    assert row.message.isascii() and "\r\n" in row.message
    parsed = BytesParser(policy=policy.default).parsebytes(row.message.encode())
    assert parsed["Message-ID"] == row.message_id
    assert parsed["Subject"] == SUBJECT
    assert parsedate_to_datetime(parsed["Date"]) == now
    assert plain_text(parsed) == BODY
    db_session.commit()
    assert smtp_server.received == []


def test_enqueue_keeps_a_message_id_and_date_the_caller_set(db_session, now):
    message = mail()
    message["Message-ID"] = "<fixed-id@example.se>"
    message["Date"] = "Mon, 02 Nov 2026 10:00:00 +0100"
    row = enqueue(db_session, message, kind="update", case_id=None, invitation_id=None, now=now)
    assert row.message_id == "<fixed-id@example.se>"
    assert "Date: Mon, 02 Nov 2026 10:00:00 +0100" in row.message


def test_enqueue_makes_8bit_parts_7bit_and_keeps_their_parameters(db_session, now):
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "sip@sipflow.localhost", RECIPIENT, SUBJECT
    message.set_content("Välkommen på möte")  # the default policy picks 8bit for this
    calendar = "BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nSUMMARY:SIP-möte\r\nEND:VCALENDAR\r\n"
    message.add_alternative(calendar, subtype="calendar", params={"method": "REQUEST"})
    message.add_attachment(
        b"\x00\xffbinary", maintype="application", subtype="octet-stream", filename="a.bin"
    )
    assert {part.get("Content-Transfer-Encoding") for part in message.walk()} >= {"8bit"}
    row = enqueue(db_session, message, kind="request", case_id=None, invitation_id=None, now=now)
    assert row.message.isascii()
    parsed = BytesParser(policy=policy.default).parsebytes(row.message.encode())
    leaves = [part for part in parsed.walk() if not part.is_multipart()]
    assert [part.get_content_type() for part in leaves] == [
        "text/plain",
        "text/calendar",
        "application/octet-stream",
    ]
    assert {str(part["Content-Transfer-Encoding"]) for part in leaves} <= {"quoted-printable", "base64"}
    assert plain_text(parsed) == "Välkommen på möte\n"
    assert leaves[1].get_param("method") == "REQUEST"
    assert leaves[1].get_content().replace("\r\n", "\n") == calendar.replace("\r\n", "\n")
    assert leaves[2].get_filename() == "a.bin" and leaves[2].get_content() == b"\x00\xffbinary"


@pytest.mark.parametrize("to", ["", "a@example.se, b@example.se"])
def test_enqueue_refuses_anything_but_one_recipient(db_session, now, to):
    with pytest.raises(ValueError, match="exactly one To"):
        enqueue(db_session, mail(to=to), kind="request", case_id=None, invitation_id=None, now=now)


def test_enqueue_refuses_an_unknown_kind(db_session, now):
    with pytest.raises(ValueError, match="kind"):
        enqueue(db_session, mail(), kind="newsletter", case_id=None, invitation_id=None, now=now)


# --- Transports ------------------------------------------------------------------------------------------


def test_the_transport_follows_the_configuration(app):
    config = dict(app.config, SMTP_HOST="")
    assert isinstance(transport_for(config), FileTransport)
    config.update(SMTP_HOST="smtp.example.se", SMTP_PORT=587, SMTP_SECURITY="starttls", SMTP_USERNAME="u")
    transport = transport_for(config)
    assert isinstance(transport, SmtpTransport)
    assert (transport.host, transport.port, transport.security, transport.username) == (
        "smtp.example.se",
        587,
        "starttls",
        "u",
    )


def test_the_file_sink_writes_a_parseable_eml(app, engine, db_session, file_sink, smtp_server, now):
    (row,) = queue(db_session, now=now)
    report = deliver_due(app, now=now)
    assert (report.sent, report.retry, report.failed, report.uncertain) == (1, 0, 0, 0)
    files = sorted(os.listdir(file_sink))
    assert files == [f"20261102T090000Z-{row.id}.eml"] and EML_NAME.match(files[0])
    with (file_sink / files[0]).open("rb") as handle:
        parsed = BytesParser(policy=policy.default).parse(handle)
    assert parsed["To"] == RECIPIENT and parsed["Subject"] == SUBJECT
    assert parsed["Message-ID"] == row.message_id
    assert plain_text(parsed) == BODY
    stored = fresh(engine, row.id)
    assert (stored.status, stored.sent_at, stored.attempts) == ("sent", now, 1)
    assert smtp_server.received == []  # the file sink sends nothing


def test_the_file_sink_writes_atomically_and_leaves_no_temporary_file(tmp_path, now):
    sink = FileTransport(tmp_path / "new" / "folder")
    sink.send(
        outbox_id=7, sender="s@x.se", recipient=RECIPIENT, message="Subject: x\r\n\r\nbody\r\n", now=now
    )
    assert os.listdir(tmp_path / "new" / "folder") == ["20261102T090000Z-7.eml"]


# --- SMTP ------------------------------------------------------------------------------------------------


def test_smtp_delivery_reaches_the_server_with_the_right_envelope(
    smtp_app, engine, db_session, smtp_server, now
):
    (row,) = queue(db_session, now=now)
    report = deliver_due(smtp_app, now=now)
    assert report.sent == 1
    (received,) = smtp_server.received
    assert received.mail_from == smtp_app.config["MAIL_FROM"]
    assert received.rcpt_tos == (RECIPIENT,)
    assert not received.authenticated
    assert received.message["Message-ID"] == row.message_id
    assert received.message["Subject"] == SUBJECT
    assert plain_text(received.message) == BODY
    stored = fresh(engine, row.id)
    assert (stored.status, stored.attempts, stored.sent_at, stored.last_error) == ("sent", 1, now, None)


def test_smtp_login_when_a_username_is_set(smtp_app, engine, db_session, smtp_server, now):
    smtp_app.config.update(SMTP_USERNAME=SMTP_USER, SMTP_PASSWORD=SMTP_PASSWORD)
    queue(db_session, now=now)
    assert deliver_due(smtp_app, now=now).sent == 1
    assert [r.authenticated for r in smtp_server.received] == [True]


def test_a_wrong_smtp_password_keeps_the_message_for_later(smtp_app, engine, db_session, smtp_server, now):
    smtp_app.config.update(SMTP_USERNAME=SMTP_USER, SMTP_PASSWORD="wrong")
    (row,) = queue(db_session, now=now)
    report = deliver_due(smtp_app, now=now)
    assert (report.sent, report.retry) == (0, 1)
    stored = fresh(engine, row.id)
    assert stored.status == "pending" and stored.last_error.startswith("SMTP 535 at AUTH")
    assert smtp_server.received == []


def test_a_451_is_retried_later_with_backoff_then_delivered(smtp_app, engine, db_session, smtp_server, now):
    smtp_server.refuse_next(2, "451 4.3.0 Mailbox busy, try again later")
    (row,) = queue(db_session, now=now)

    report = deliver_due(smtp_app, now=now)
    assert (report.sent, report.retry) == (0, 1)
    stored = fresh(engine, row.id)
    assert (stored.status, stored.attempts, stored.next_attempt_at) == ("pending", 1, now + MINUTE)
    assert stored.last_error.startswith("SMTP 451 at end of DATA")

    # Not due yet: nothing happens.
    early = deliver_due(smtp_app, now=now + 30 * timedelta(seconds=1))
    assert (early.sent, early.retry, early.failed) == (0, 0, 0)
    assert fresh(engine, row.id).attempts == 1

    second = now + MINUTE
    assert deliver_due(smtp_app, now=second).retry == 1
    stored = fresh(engine, row.id)
    assert (stored.attempts, stored.next_attempt_at) == (2, second + 5 * MINUTE)

    third = second + 5 * MINUTE
    assert deliver_due(smtp_app, now=third).sent == 1
    stored = fresh(engine, row.id)
    assert (stored.status, stored.attempts, stored.sent_at, stored.last_error) == ("sent", 3, third, None)
    assert [r.message["Message-ID"] for r in smtp_server.received] == [row.message_id]


def test_the_backoff_grows_and_is_capped():
    assert [backoff(n) for n in range(1, 8)] == [
        timedelta(minutes=m) for m in (*BACKOFF_MINUTES, BACKOFF_MINUTES[-1], BACKOFF_MINUTES[-1])
    ]


def test_a_550_recipient_refusal_fails_at_once(smtp_app, engine, db_session, smtp_server, now):
    smtp_server.refuse_next(1, f"550 5.1.1 <{RECIPIENT}>: Recipient address rejected", at="RCPT")
    (row,) = queue(db_session, now=now)
    report = deliver_due(smtp_app, now=now)
    assert (report.sent, report.retry, report.failed) == (0, 0, 1)
    stored = fresh(engine, row.id)
    assert (stored.status, stored.attempts) == ("failed", 1)
    assert stored.last_error.startswith("SMTP 550 at RCPT")
    assert RECIPIENT not in stored.last_error and "[address]" in stored.last_error
    # Failed for good: a later run does not try again.
    later = deliver_due(smtp_app, now=now + timedelta(days=1))
    assert (later.sent, later.failed) == (0, 0)
    assert smtp_server.received == []


def test_after_the_last_attempt_a_transient_failure_fails_the_row(
    smtp_app, engine, db_session, smtp_server, now, monkeypatch
):
    monkeypatch.setitem(smtp_app.config, "OUTBOX_MAX_ATTEMPTS", 3)
    smtp_server.refuse_next(5, "451 4.3.0 Try again later")
    (row,) = queue(db_session, now=now)
    at = now
    outcomes = []
    for _ in range(3):
        report = deliver_due(smtp_app, now=at)
        outcomes.append((report.retry, report.failed))
        at = fresh(engine, row.id).next_attempt_at
    assert outcomes == [(1, 0), (1, 0), (0, 1)]
    stored = fresh(engine, row.id)
    assert (stored.status, stored.attempts) == ("failed", 3)
    assert deliver_due(smtp_app, now=now + timedelta(days=30)).failed == 0
    assert smtp_server.received == []


def test_an_unreachable_relay_pauses_the_run_and_keeps_the_rows(smtp_app, engine, db_session, now):
    smtp_app.config["SMTP_PORT"] = free_port()  # nothing listens there
    rows = queue(db_session, 3, now=now)
    report = deliver_due(smtp_app, now=now)
    assert (report.sent, report.retry, report.failed) == (0, 1, 0)
    first = fresh(engine, rows[0].id)
    assert (first.status, first.attempts) == ("pending", 1)
    assert first.last_error == "connection failed: ConnectionRefusedError"
    # The others were not tried against a relay known to be down.
    assert [fresh(engine, r.id).attempts for r in rows[1:]] == [0, 0]


# --- At most once ----------------------------------------------------------------------------------------


def test_delivering_twice_sends_once(smtp_app, engine, db_session, smtp_server, now):
    rows = queue(db_session, 3, now=now)
    first = deliver_due(smtp_app, now=now)
    second = deliver_due(smtp_app, now=now)
    assert first.sent == 3 and (second.sent, second.retry, second.failed, second.uncertain) == (0, 0, 0, 0)
    assert sorted(r.message["Message-ID"] for r in smtp_server.received) == sorted(r.message_id for r in rows)


def test_a_run_claims_no_more_than_its_batch(smtp_app, engine, db_session, smtp_server, now):
    """On PostgreSQL the claim's `IN (SELECT ... LIMIT n FOR UPDATE SKIP LOCKED)` was run again for each row
    the UPDATE scanned, each run skipping the rows just claimed: a claim of one took every due row."""
    rows = queue(db_session, 3, now=now)
    assert deliver_due(smtp_app, now=now, limit=1).sent == 1
    assert [fresh(engine, row.id).status for row in rows] == ["sent", "pending", "pending"]


def test_two_deliverers_racing_send_each_row_once(smtp_app, engine, db_session, smtp_server, now):
    rows = queue(db_session, 24, now=now)
    start = threading.Barrier(2)
    reports, errors = [], []

    def deliver():
        try:
            start.wait(timeout=30)
            reports.append(deliver_due(smtp_app, now=now))
        except Exception as error:  # noqa: BLE001 - collected and asserted below
            errors.append(error)

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert sum(r.sent for r in reports) == 24
    received_ids = [r.message["Message-ID"] for r in smtp_server.received]
    assert len(received_ids) == 24
    assert sorted(received_ids) == sorted(r.message_id for r in rows)
    assert statuses(engine) == [("sent", 1)] * 24


def test_a_row_left_sending_becomes_uncertain_and_is_never_resent(
    smtp_app, engine, db_session, smtp_server, now
):
    stale, recent = queue(db_session, 2, now=now)
    for row, claimed in ((stale, now - STALE_CLAIM - MINUTE), (recent, now - 5 * MINUTE)):
        row.status, row.claimed_at, row.attempts = "sending", claimed, 1
        db_session.add(row)
    db_session.commit()
    report = deliver_due(smtp_app, now=now)
    assert (report.sent, report.uncertain) == (0, 1)
    assert fresh(engine, stale.id).status == "uncertain"
    assert fresh(engine, stale.id).last_error
    assert fresh(engine, recent.id).status == "sending"  # its deliverer may still be at it
    assert deliver_due(smtp_app, now=now + timedelta(days=1)).sent == 0
    assert fresh(engine, stale.id).status == "uncertain"
    assert smtp_server.received == []


def _meeting_a_week_ahead(db_session, case, now) -> Meeting:
    """A meeting of case on site a week after now, flushed (its id known)."""
    meeting = Meeting(
        case_id=case.id,
        mode="on_site",
        starts_at=now + timedelta(days=7),
        ends_at=now + timedelta(days=7, hours=1),
    )
    db_session.add(meeting)
    db_session.flush()
    return meeting


def _invitation(db_session, create_case, now) -> Invitation:
    """One invitation of a meeting a week ahead, committed."""
    case = create_case()
    participant = db_session.exec(select(Participant).where(Participant.case_id == case.id)).first()
    meeting = _meeting_a_week_ahead(db_session, case, now)
    invitation = Invitation(
        meeting_id=meeting.id, participant_id=participant.id, email=RECIPIENT, invited_at=now
    )
    db_session.add(invitation)
    db_session.commit()
    return invitation


def test_an_invitees_mails_go_out_in_the_order_written_after_a_failed_attempt(
    smtp_app, engine, db_session, smtp_server, create_case, now
):
    """A relay that refused the invitation (4xx, or down) and took the meeting's cancellation written
    meanwhile put the cancelled meeting into the invitee's calendar when the invitation went out last: a
    later mail of an invitation waits for its earlier ones still to be sent."""
    invitation = _invitation(db_session, create_case, now)

    def row(kind, at):
        return enqueue(db_session, mail(), kind=kind, case_id=None, invitation_id=invitation.id, now=at)

    smtp_server.refuse_next(1, "451 4.3.0 Try again later")
    request = row("request", now)
    db_session.commit()
    db_session.info.pop(OUTBOX_PENDING, None)
    assert deliver_due(smtp_app, now=now).retry == 1  # the request is due again a minute later
    update = row("update", now + 10 * timedelta(seconds=1))
    cancel = row("cancel", now + 20 * timedelta(seconds=1))
    other = queue(db_session, now=now + 20 * timedelta(seconds=1))[0]  # another recipient's mail
    db_session.commit()
    db_session.info.pop(OUTBOX_PENDING, None)

    early = deliver_due(smtp_app, now=now + 30 * timedelta(seconds=1))
    assert (early.sent, early.retry, early.failed) == (1, 0, 0)  # only the other recipient's
    assert [fresh(engine, r.id).status for r in (request, update, cancel)] == ["pending"] * 3

    assert deliver_due(smtp_app, now=now + MINUTE).sent == 3
    received = [r.message["Message-ID"] for r in smtp_server.received]
    assert received == [other.message_id, request.message_id, update.message_id, cancel.message_id]


def test_the_invitation_to_a_corrected_address_does_not_wait_for_the_wrong_one(
    smtp_app, engine, db_session, smtp_server, create_case, now
):
    """A mistyped address the relay keeps answering 4xx holds back only the mails to that address: the
    invitation sent again to the address staff corrected goes out at once."""
    invitation = _invitation(db_session, create_case, now)
    smtp_server.refuse_next(1, "450 4.2.0 Mailbox unavailable", at="RCPT")
    wrong = enqueue(
        db_session,
        mail(to="anna.andersson@exmaple.se"),
        kind="request",
        case_id=None,
        invitation_id=invitation.id,
        now=now,
    )
    db_session.commit()
    db_session.info.pop(OUTBOX_PENDING, None)
    assert deliver_due(smtp_app, now=now).retry == 1
    corrected = enqueue(
        db_session, mail(), kind="request", case_id=None, invitation_id=invitation.id, now=now
    )
    db_session.commit()
    db_session.info.pop(OUTBOX_PENDING, None)
    assert deliver_due(smtp_app, now=now).sent == 1
    assert [r.message["Message-ID"] for r in smtp_server.received] == [corrected.message_id]
    assert fresh(engine, wrong.id).status == "pending"


def test_a_long_run_claims_each_batch_when_it_takes_it(
    smtp_app, engine, db_session, smtp_server, monkeypatch
):
    """A backlog of thousands after an outage, on a relay taking a fraction of a second a message, is a run
    of more than STALE_CLAIM: every batch was claimed at the run's first moment, so a request's delivery on
    another node took the batch being sent for a dead process's and marked it uncertain ("check by hand
    whether it arrived"), and each row's sent_at was the run's start. A batch is claimed at its own time."""
    with frozen(FIXED_NOW) as clock:
        rows = queue(db_session, 3, now=FIXED_NOW)
        by_message_id = {row.message_id: row.id for row in rows}
        accept = smtp_server.handler.handle_DATA
        ages = []

        async def slow_relay(server, session, envelope):
            # What another deliverer's _mark_uncertain would see of the row being sent, at this moment.
            sent = BytesParser(policy=policy.default).parsebytes(envelope.content)
            ages.append(now_utc() - fresh(engine, by_message_id[sent["Message-ID"]]).claimed_at)
            answer = await accept(server, session, envelope)
            clock.advance(STALE_CLAIM + MINUTE)  # this one message took the relay that long
            return answer

        monkeypatch.setattr(smtp_server.handler, "handle_DATA", slow_relay)
        report = deliver_due(smtp_app, batch=1)
    assert report.sent == 3 and report.uncertain == 0
    assert ages == [timedelta(0)] * 3
    step = STALE_CLAIM + MINUTE
    assert [fresh(engine, row.id).sent_at for row in rows] == [
        FIXED_NOW,
        FIXED_NOW + step,
        FIXED_NOW + 2 * step,
    ]


# --- After commit ----------------------------------------------------------------------------------------


def test_rows_committed_by_a_unit_of_work_are_delivered_right_after_commit(
    smtp_app, engine, db_session, smtp_server
):
    with unit_of_work(db_session):
        row = enqueue(db_session, mail(), kind="request", case_id=None, invitation_id=None, now=now_utc())
        db_session.flush()
        assert smtp_server.received == []  # nothing leaves before the commit
    assert OUTBOX_PENDING not in db_session.info
    assert [r.message["Message-ID"] for r in smtp_server.received] == [row.message_id]
    assert fresh(engine, row.id).status == "sent"


def test_a_request_delivers_its_own_mail_and_leaves_a_backlog_to_the_scheduler(
    smtp_app, engine, db_session, smtp_server, now
):
    """After a relay outage the scheduler had hundreds of mails to send; the first request that wrote one
    mail (an administrator's reset link) claimed up to 100 of them and sent them while its user waited: past
    gunicorn's 30 s worker timeout on a slow relay, the worker was killed mid-batch (a 500 for a change that
    was committed) and the rows it held turned uncertain, never sent. A request sends what it wrote."""
    backlog = queue(db_session, 3, now=now)  # due, written by other requests while the relay was down
    with unit_of_work(db_session):
        own = enqueue(db_session, mail(), kind="request", case_id=None, invitation_id=None, now=now)
    assert [r.message["Message-ID"] for r in smtp_server.received] == [own.message_id]
    assert [fresh(engine, row.id).status for row in backlog] == ["pending"] * 3
    assert outbox_job(smtp_app, now=now).sent == 3


def test_a_rolled_back_unit_of_work_delivers_nothing(smtp_app, engine, db_session, smtp_server, now):
    (waiting,) = queue(db_session, now=now)  # due, but no one asked for a delivery
    with pytest.raises(RuntimeError), unit_of_work(db_session):
        enqueue(db_session, mail(), kind="request", case_id=None, invitation_id=None, now=now)
        raise RuntimeError("the booking failed")
    assert OUTBOX_PENDING not in db_session.info
    assert smtp_server.received == []
    assert statuses(engine) == [("pending", 0)]
    assert fresh(engine, waiting.id).status == "pending"


def test_a_unit_of_work_without_mail_delivers_nothing(smtp_app, engine, db_session, smtp_server, now):
    queue(db_session, now=now)
    with unit_of_work(db_session):
        pass
    assert smtp_server.received == []


def test_in_scheduler_mode_nothing_is_delivered_after_commit(
    smtp_app, engine, db_session, smtp_server, now, monkeypatch
):
    monkeypatch.setitem(smtp_app.config, "OUTBOX_DELIVERY", "scheduler")
    with unit_of_work(db_session):
        row = enqueue(db_session, mail(), kind="request", case_id=None, invitation_id=None, now=now)
    assert smtp_server.received == []
    assert fresh(engine, row.id).status == "pending"
    report = outbox_job(smtp_app, now=now)
    assert report.sent == 1 and len(smtp_server.received) == 1


def test_a_failed_delivery_after_commit_keeps_the_commit(smtp_app, engine, db_session, smtp_server, now):
    smtp_app.config["SMTP_PORT"] = free_port()
    with unit_of_work(db_session):
        row = enqueue(db_session, mail(), kind="request", case_id=None, invitation_id=None, now=now)
    stored = fresh(engine, row.id)
    assert (stored.status, stored.attempts) == ("pending", 1)
    assert stored.next_attempt_at > now


def test_a_relay_found_down_is_left_to_the_scheduler_for_a_while(smtp_app, engine, db_session, now):
    """A relay host that took the connection and never answered made every booking, change and
    cancellation wait the whole SMTP timeout (10 s) after its commit, for as long as the outage lasted:
    once a request found the relay down, the requests after it leave their mail to the scheduler for
    RELAY_DOWN_PAUSE."""
    smtp_app.config["SMTP_PORT"] = free_port()  # nothing listens there
    with unit_of_work(db_session):
        first = enqueue(db_session, mail(), kind="request", case_id=None, invitation_id=None, now=now)
    assert fresh(engine, first.id).attempts == 1
    with unit_of_work(db_session):
        second = enqueue(db_session, mail(), kind="request", case_id=None, invitation_id=None, now=now)
    assert (fresh(engine, second.id).status, fresh(engine, second.id).attempts) == ("pending", 0)
    # The scheduler's job still tries at each run.
    assert outbox_job(smtp_app, now=now + timedelta(minutes=2)).retry == 1


# --- Scheduler and command -------------------------------------------------------------------------------


def test_the_scheduler_delivers_the_outbox_every_30_seconds(app):
    job = {job.id: job for job in JOBS}["outbox"]
    assert (job.func, job.trigger, job.trigger_args, job.run_at_start) == (
        outbox_job,
        "interval",
        {"seconds": 30},
        True,
    )
    assert "retention" in {job.id for job in JOBS}
    scheduler = build_scheduler(app, FileLeaderLock(PROJECT_ROOT / "unused.lock"), on_lost=lambda: None)
    trigger = scheduler.get_job("outbox").trigger
    assert isinstance(trigger, IntervalTrigger) and trigger.interval == timedelta(seconds=30)


def test_the_deliver_command_prints_the_counts(app, db_session, file_sink, now):
    queue(db_session, 2, now=now)
    result = app.test_cli_runner().invoke(outbox_group, ["deliver"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "sent 2, retry later 0, failed 0, uncertain 0"
    assert len(os.listdir(file_sink)) == 2


@pytest.mark.parametrize("limit", ["-1", "0", "10001"])
def test_the_deliver_command_refuses_a_limit_out_of_range(app, db_session, file_sink, now, limit):
    queue(db_session, 1, now=now)
    result = app.test_cli_runner().invoke(outbox_group, ["deliver", "--limit", limit])
    assert result.exit_code == 2, result.output
    assert "Invalid value for '--limit'" in result.output
    assert not file_sink.exists() or os.listdir(file_sink) == []


# --- The case page's view of it --------------------------------------------------------------------------


def test_each_invitation_shows_its_newest_mail(db_session, create_case, now):
    """The case and meeting pages show each invitee's newest e-mail (an update after the request), and none
    for an invitee not mailed, in the invitations' own read."""
    case = create_case()
    participants = db_session.exec(select(Participant).where(Participant.case_id == case.id)).all()
    meeting = _meeting_a_week_ahead(db_session, case, now)
    invitations = [
        Invitation(meeting_id=meeting.id, participant_id=p.id, email=RECIPIENT, invited_at=now)
        for p in participants[:3]
    ]
    db_session.add_all(invitations)
    db_session.flush()
    first, second, unmailed = invitations

    def row(invitation, kind, at):
        return enqueue(db_session, mail(), kind=kind, case_id=case.id, invitation_id=invitation.id, now=at)

    row(first, "request", now)
    newest = row(first, "update", now + MINUTE)
    other = row(second, "request", now)
    db_session.commit()
    db_session.info.pop(OUTBOX_PENDING, None)
    found = {r.invitation.id: r.delivery for r in invitation_rows(db_session, case, [meeting])[meeting.id]}
    assert {key: (d.id, d.status) for key, d in found.items() if d} == {
        first.id: (newest.id, "pending"),
        second.id: (other.id, "pending"),
    }
    assert found[unmailed.id] is None


# --- Privacy ---------------------------------------------------------------------------------------------


def test_delivery_logs_never_name_the_recipient_or_the_subject(
    smtp_app, engine, db_session, smtp_server, now, caplog
):
    caplog.set_level(logging.INFO)
    smtp_server.refuse_next(1, f"550 5.1.1 <{RECIPIENT}> unknown", at="RCPT")
    smtp_server.refuse_next(1, f"451 4.2.0 <{RECIPIENT}> busy")
    queue(db_session, 3, now=now)
    deliver_due(smtp_app, now=now)
    deliver_due(smtp_app, now=now + timedelta(hours=1))
    smtp_app.config["SMTP_PORT"] = free_port()
    with unit_of_work(db_session):
        enqueue(db_session, mail(), kind="cancel", case_id=None, invitation_id=None, now=now)
    lines = [record.getMessage() for record in caplog.records if record.name.startswith("sipflow")]
    assert any("outbox" in line and "sent" in line for line in lines)
    assert any("failed" in line for line in lines)
    for line in lines:
        assert RECIPIENT not in line and "anna.andersson" not in line, line
        assert SUBJECT not in line and "välkommen" not in line.lower(), line
    with Session(engine) as session:
        errors = [row.last_error for row in session.exec(select(OutboxMessage)) if row.last_error]
    assert errors and all(RECIPIENT not in error for error in errors)
