"""Outbox throughput: one SMTP connection per delivery run, rows claimed and marked in batches, at most once.

A real SMTP server (aiosmtpd, see smtpkit) counts the connections and can drop one mid-run.
"""

from __future__ import annotations

import threading
from email.message import EmailMessage

from sqlalchemy import event
from sqlmodel import Session, select
from support import FIXED_NOW

from sipflow.notifications.models import OutboxMessage
from sipflow.notifications.outbox import CLAIM_BATCH, OUTBOX_PENDING, deliver_due, enqueue


def mail(number: int) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "SIP <sip@sipflow.localhost>"
    message["To"] = f"person{number}@example.se"
    message["Subject"] = "Påminnelse om SIP-möte"
    message.set_content("Hej!\n\nEtt SIP-möte i morgon.\n", cte="quoted-printable")
    return message


def queue(session: Session, count: int, *, now=FIXED_NOW) -> list[OutboxMessage]:
    """Enqueue count messages and commit them without delivering (as if written by another process)."""
    rows = [
        enqueue(session, mail(n), kind="request", case_id=None, invitation_id=None, now=now)
        for n in range(count)
    ]
    session.commit()
    session.info.pop(OUTBOX_PENDING, None)
    return rows


def statuses(engine) -> list[tuple[str, int]]:
    with Session(engine) as session:
        rows = session.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        return [(row.status, row.attempts) for row in rows]


def received_ids(smtp_server) -> list[str]:
    return sorted(r.message["Message-ID"] for r in smtp_server.received)


def test_a_run_of_many_messages_uses_one_smtp_connection(smtp_app, engine, db_session, smtp_server, now):
    count = 2 * CLAIM_BATCH + 7
    rows = queue(db_session, count, now=now)
    report = deliver_due(smtp_app, now=now, limit=500)
    assert (report.sent, report.retry, report.failed, report.uncertain) == (count, 0, 0, 0)
    assert smtp_server.connections == 1
    assert smtp_server.quits == 1  # the run closes its connection when it ends
    assert received_ids(smtp_server) == sorted(row.message_id for row in rows)
    assert [r.rcpt_tos for r in smtp_server.received] == [(f"person{n}@example.se",) for n in range(count)]
    assert statuses(engine) == [("sent", 1)] * count


def test_rows_are_claimed_and_marked_sent_a_batch_per_commit(smtp_app, engine, db_session, smtp_server, now):
    count = 2 * CLAIM_BATCH
    queue(db_session, count, now=now)
    commits = []
    listener = lambda connection: commits.append(1)  # noqa: E731
    event.listen(engine, "commit", listener)
    try:
        assert deliver_due(smtp_app, now=now, limit=500).sent == count
    finally:
        event.remove(engine, "commit", listener)
    # Per batch: the claim, the read of the claimed rows, the sent mark; then one claim that finds nothing.
    assert len(commits) <= 3 * 2 + 2


def test_a_connection_dropped_mid_run_is_opened_again_and_nothing_is_sent_twice(
    smtp_app, engine, db_session, smtp_server, now
):
    rows = queue(db_session, 10, now=now)
    smtp_server.drop_after(4)
    report = deliver_due(smtp_app, now=now)
    assert (report.sent, report.retry, report.failed, report.uncertain) == (10, 0, 0, 0)
    assert smtp_server.connections == 2
    assert received_ids(smtp_server) == sorted(row.message_id for row in rows)  # each exactly once
    assert statuses(engine) == [("sent", 1)] * 10


def test_a_refused_message_leaves_the_connection_usable_for_the_next_ones(
    smtp_app, engine, db_session, smtp_server, now
):
    rows = queue(db_session, 4, now=now)
    smtp_server.refuse_next(1, "550 5.1.1 Recipient address rejected", at="RCPT")
    report = deliver_due(smtp_app, now=now)
    assert (report.sent, report.failed) == (3, 1)
    smtp_server.refuse_next(1, "451 4.3.0 Try again later")
    second = queue(db_session, 2, now=now)
    report = deliver_due(smtp_app, now=now)
    assert (report.sent, report.retry) == (1, 1)
    assert smtp_server.connections == 2  # one per run, whatever was refused inside it
    assert [s for s, _ in statuses(engine)] == ["failed", "sent", "sent", "sent", "pending", "sent"]
    assert received_ids(smtp_server) == sorted(r.message_id for r in [*rows[1:], second[1]])


def test_two_delivery_runs_at_once_send_each_message_once(smtp_app, engine, db_session, smtp_server, now):
    count = 60
    rows = queue(db_session, count, now=now)
    start = threading.Barrier(2)
    reports, errors = [], []

    def deliver():
        try:
            start.wait(timeout=30)
            reports.append(deliver_due(smtp_app, now=now, limit=500, batch=5))
        except Exception as error:  # noqa: BLE001 - collected and asserted below
            errors.append(error)

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert sum(r.sent for r in reports) == count
    assert sum(r.retry + r.failed + r.uncertain for r in reports) == 0
    assert received_ids(smtp_server) == sorted(row.message_id for row in rows)
    assert statuses(engine) == [("sent", 1)] * count
    assert smtp_server.connections <= 2
