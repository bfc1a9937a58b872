"""A backlog of due reminder e-mails drained through the outbox, against sending them straight with smtplib.

    .venv/bin/python bench/reminders.py [--count N] [--block B] [--database URL] [--keep DIR]

N (100,000 by default) reminder e-mails, as the reminder dispatcher writes them (a Swedish text and HTML
part, no name and no personnummer), are enqueued with sipflow.notifications.outbox.enqueue, all due at the
same moment, then delivered to a local aiosmtpd sink in a child process, block by block (B rows, 5,000 by
default), two ways, interleaved so that the machine's load falls on both alike (the order alternates
between blocks):

* outbox: sipflow.notifications.outbox.deliver_due(app, limit=B) with SMTP_HOST set, the path the scheduler's
  outbox job runs (claim a batch by compare-and-set and commit, send each on the run's one SMTP connection,
  mark the batch sent and commit; the job takes up to outbox.JOB_LIMIT rows per run);
* smtplib (the baseline): the same B message texts (read from the database before the clock starts), one
  smtplib.SMTP connection per block, MAIL, RCPT and DATA per message.

When every block is done the outbox job runs until it finds nothing due, every row must be `sent`, and the
sink must have received each outbox message exactly once. The sink tells the two sides apart by the
envelope sender and counts, per side, the messages whose Message-ID it had already seen: the duplicates.

--database postgresql+psycopg://...: the public schema of that database is dropped and built again by the
migrations, so its name must contain "bench" (never point it at the test suite's database).
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import os
import re
import smtplib
import socket
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

from alembic import command  # noqa: E402
from sqlalchemy import make_url, text  # noqa: E402
from sqlmodel import Session, col, select  # noqa: E402

from sipflow import create_app  # noqa: E402
from sipflow.cli import alembic_config  # noqa: E402
from sipflow.db import make_engine  # noqa: E402
from sipflow.notifications import outbox  # noqa: E402
from sipflow.notifications.models import OutboxMessage  # noqa: E402

SECRET = "bench-secret-key-0123456789"
MAIL_FROM = "sip@bench.sipflow.se"
RAW_FROM = "raw@bench.sipflow.se"  # the envelope sender of the smtplib side, so the sink can tell them apart
NOW = datetime(2027, 1, 15, 7, 0, tzinfo=UTC)
ENQUEUE_CHUNK = 5_000
MESSAGE_ID = re.compile(rb"^Message-ID:\s*(\S+)", re.MULTILINE | re.IGNORECASE)


# --- the sink ---------------------------------------------------------------------------------------------


class CountingSink:
    """Accepts every message; counts them and the repeated Message-IDs, per envelope sender."""

    def __init__(self, counters) -> None:
        self.counters = counters  # outbox received, outbox duplicates, raw received, raw duplicates
        self.seen = {True: set(), False: set()}

    async def handle_DATA(self, server, session, envelope):
        ours = envelope.mail_from == MAIL_FROM
        found = MESSAGE_ID.search(envelope.content)
        key = found.group(1) if found else b""
        seen = self.seen[ours]
        base = 0 if ours else 2
        with self.counters.get_lock():
            self.counters[base] += 1
            if key in seen:
                self.counters[base + 1] += 1
        seen.add(key)
        return "250 OK"


def run_sink(port: int, counters, ready, stop) -> None:
    """The child process: an aiosmtpd Controller on 127.0.0.1:port until stop is set."""
    from aiosmtpd.controller import Controller

    logging.getLogger("mail.log").setLevel(logging.WARNING)
    controller = Controller(
        CountingSink(counters), hostname="127.0.0.1", port=port, server_hostname="sink.bench"
    )
    controller.start()
    ready.set()
    stop.wait()
    controller.stop()


class Sink:
    def __init__(self) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        context = multiprocessing.get_context("spawn")
        self.counters = context.Array("q", 4)
        ready, self.stop = context.Event(), context.Event()
        self.process = context.Process(
            target=run_sink, args=(self.port, self.counters, ready, self.stop), daemon=True
        )
        self.process.start()
        deadline = time.monotonic() + 30
        while not ready.wait(0.1):
            if not self.process.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the SMTP sink did not start")

    def counts(self) -> tuple[int, int, int, int]:
        with self.counters.get_lock():
            return tuple(self.counters)

    def close(self) -> None:
        self.stop.set()
        self.process.join(10)


# --- the messages -----------------------------------------------------------------------------------------


def reminder(number: int) -> EmailMessage:
    """A reminder as the dispatcher writes it: the case reference and the time, never a name."""
    reference = f"SIP-2027-{number // 3:06X}"
    when = "fredag 15 januari 2027 kl. 09:00"
    message = EmailMessage()
    message["From"] = f"SIP <{MAIL_FROM}>"
    message["To"] = f"handlaggare.{number}@kommun{number % 7}.example.se"
    message["Subject"] = f"Påminnelse: SIP-möte {reference} i morgon"
    body = (
        f"Hej!\n\nDetta är en påminnelse om SIP-mötet {reference}, {when}, "
        "Vårdcentralen Öster, Storgatan 1, Växjö, rum 3.\n\n"
        f"Öppna ärendet i sipflow: https://sip.example.se/cases/{number:032x}\n\n"
        "Meddelandet skickades automatiskt; svara inte på det.\n"
    )
    message.set_content(body, cte="quoted-printable")
    html = "".join(f"<p>{line}</p>" for line in body.split("\n\n") if line)
    message.add_alternative(f"<html><body>{html}</body></html>", subtype="html", cte="quoted-printable")
    return message


# --- the database -----------------------------------------------------------------------------------------


def build_database(url: str) -> None:
    if make_url(url).get_backend_name() == "postgresql":
        engine = make_engine(url)
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    command.upgrade(alembic_config(url), "head")


def enqueue_all(app, count: int) -> float:
    """Enqueue count reminders, ENQUEUE_CHUNK per transaction, all due at NOW; returns the seconds."""
    start = time.perf_counter()
    engine = app.extensions["sipflow.engine"]
    for first in range(0, count, ENQUEUE_CHUNK):
        with Session(engine) as session:
            for number in range(first, min(first + ENQUEUE_CHUNK, count)):
                outbox.enqueue(
                    session, reminder(number), kind="request", case_id=None, invitation_id=None, now=NOW
                )
            session.commit()
    return time.perf_counter() - start


def next_block(app, size: int) -> list[tuple[str, str]]:
    """The (recipient, text) of the next size pending rows, in the order deliver_due claims them."""
    with Session(app.extensions["sipflow.engine"]) as session:
        return list(
            session.exec(
                select(OutboxMessage.recipient, OutboxMessage.message)
                .where(OutboxMessage.status == "pending")
                .order_by(col(OutboxMessage.next_attempt_at), col(OutboxMessage.id))
                .limit(size)
            ).all()
        )


def status_counts(app) -> dict[str, int]:
    with Session(app.extensions["sipflow.engine"]) as session:
        rows = session.exec(select(OutboxMessage.status)).all()
    counts: dict[str, int] = {}
    for status in rows:
        counts[status] = counts.get(status, 0) + 1
    return counts


# --- the two sides ----------------------------------------------------------------------------------------


def outbox_side(app, size: int) -> float:
    start = time.perf_counter()
    report = outbox.deliver_due(app, now=NOW, limit=size)
    seconds = time.perf_counter() - start
    if report.sent != size or report.retry or report.failed or report.uncertain:
        raise RuntimeError(f"expected {size} sent, got: {report}")
    return seconds


def smtplib_side(port: int, block: list[tuple[str, str]]) -> float:
    """The same messages over one smtplib connection: MAIL, RCPT, DATA each."""
    payloads = [(recipient, message.encode("ascii")) for recipient, message in block]
    start = time.perf_counter()
    client = smtplib.SMTP("127.0.0.1", port, timeout=10)
    client.ehlo_or_helo_if_needed()
    for recipient, payload in payloads:
        client.mail(RAW_FROM)
        client.rcpt(recipient)
        code, _reply = client.data(payload)
        if code != 250:
            raise RuntimeError(f"the sink answered {code}")
    client.quit()
    return time.perf_counter() - start


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=100_000, help="due reminders (100,000)")
    parser.add_argument("--block", type=int, default=5_000, help="messages per interleaved block (5,000)")
    parser.add_argument(
        "--database",
        default="sqlite",
        help='"sqlite" (a fresh file in a temporary folder, the default) or a PostgreSQL URL whose '
        'database name contains "bench": its public schema is dropped and rebuilt',
    )
    parser.add_argument("--keep", metavar="DIR", help="work in DIR and leave the database there")
    args = parser.parse_args(argv)
    if args.count < 1 or args.block < 1:
        parser.error("--count and --block must be positive")

    load_before = os.getloadavg()
    sink = Sink()
    try:
        with tempfile.TemporaryDirectory(prefix="sipflow-bench-") as tmp:
            folder = Path(args.keep or tmp)
            folder.mkdir(parents=True, exist_ok=True)
            if args.database == "sqlite":
                url = f"sqlite:///{folder / 'reminders.sqlite3'}"
                Path(folder / "reminders.sqlite3").unlink(missing_ok=True)
            else:
                url = args.database
                if "bench" not in (make_url(url).database or ""):
                    parser.error('--database: the database name must contain "bench" (its schema is dropped)')
            build_database(url)
            app = create_app(
                {
                    "DATABASE_URL": url,
                    "SECRET_KEY": SECRET,
                    "PNR_HASH_KEY": "bench-pnr-key",
                    "MAIL_FROM": MAIL_FROM,
                    "SMTP_HOST": "127.0.0.1",
                    "SMTP_PORT": sink.port,
                    "SMTP_SECURITY": "none",
                    "SMTP_USERNAME": "",
                    "OUTBOX_DIR": str(folder / "sink"),
                    "OUTBOX_DELIVERY": "scheduler",
                }
            )
            # One INFO line per message sent would measure the log handler, not the outbox.
            logging.getLogger("sipflow.notifications.outbox").setLevel(logging.WARNING)
            with app.app_context():
                enqueue_seconds = enqueue_all(app, args.count)
                times = {"outbox": 0.0, "smtplib": 0.0}
                done, number = 0, 0
                while done < args.count:
                    size = min(args.block, args.count - done)
                    block = next_block(app, size)
                    sides = [
                        ("outbox", lambda size=size: outbox_side(app, size)),
                        ("smtplib", lambda block=block: smtplib_side(sink.port, block)),
                    ]
                    for name, run in sides if number % 2 == 0 else reversed(sides):
                        times[name] += run()
                    done += size
                    number += 1
                    print(
                        f"  block {number}: {done}/{args.count}  outbox {times['outbox']:.1f} s, "
                        f"smtplib {times['smtplib']:.1f} s",
                        file=sys.stderr,
                    )
                # What the scheduler's job would still find: nothing.
                leftover = outbox.outbox_job(app, now=NOW + timedelta(hours=1))
                statuses = status_counts(app)
            app.extensions["sipflow.engine"].dispose()
    finally:
        time.sleep(0.5)  # let the sink count the last message of the last block
        counts = sink.counts()
        sink.close()

    outbox_received, outbox_duplicates, raw_received, raw_duplicates = counts
    n = args.count
    backend = make_url(url).get_backend_name()
    print(
        f"{n} due reminders, blocks of {args.block}, database {backend}; load average before "
        + " ".join(f"{x:.2f}" for x in load_before)
        + ", after "
        + " ".join(f"{x:.2f}" for x in os.getloadavg())
    )
    print(f"enqueue: {enqueue_seconds:.1f} s, {n / enqueue_seconds:,.0f} messages/s (not in the ratio)")
    rate = {name: n / seconds for name, seconds in times.items()}
    for name in ("outbox", "smtplib"):
        print(f"{name:8} {times[name]:8.1f} s  {rate[name]:8,.0f} messages/s")
    print(f"ratio outbox/smtplib throughput: {rate['outbox'] / rate['smtplib']:.2f} (goal: at least 0.50)")
    print(f"rows by status: {statuses}; left for the job afterwards: {leftover}")
    print(
        f"sink: outbox {outbox_received} received, {outbox_duplicates} duplicates; "
        f"smtplib {raw_received} received, {raw_duplicates} duplicates"
    )
    if statuses != {"sent": n} or outbox_received != n or outbox_duplicates or leftover.sent:
        raise SystemExit("FAILED: not every reminder was sent exactly once")


if __name__ == "__main__":
    main()
