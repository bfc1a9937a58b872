"""The e-mail outbox's bookkeeping (claim, commit, send, mark sent, commit) against just sending.

    .venv/bin/python bench/outbox.py [--messages N] [--rounds R] [--database URL] [--keep DIR] [--no-log]
                                     [--profile]

N realistic invitation e-mails (sipflow.meetings.mime.calendar_message with request_ics, the Swedish
templates, 4 attendees, 5 invitees per meeting) are enqueued with sipflow.notifications.outbox.enqueue in one
transaction, then delivered. One database built by the migrations serves every path: each outbox path
enqueues its own N rows and delivers exactly those (the earlier ones are all sent).

SMTP (a local aiosmtpd relay in a child process whose handler only counts):
* outbox: deliver_due(app, limit=N) with SMTP_HOST set: per batch of outbox.CLAIM_BATCH rows the
  compare-and-set UPDATE pending -> sending and its COMMIT, a SELECT of the claimed rows, SmtpTransport.send
  (one connection per run: MAIL, RCPT, DATA per message), the UPDATE to sent and its COMMIT.
* plain (the baseline): the same N message strings with smtplib.SMTP, one connection per message, the same
  commands as the transport.
* transport only: SmtpTransport.send for the same strings on its one connection, no database.
* one connection: smtplib, N x (MAIL, RCPT, DATA) on a single connection: what reusing it would gain.
* 5 pending per call: the same N rows as a booking makes them, 5 enqueued (not timed) then one
  deliver_due, N/5 times: the next-candidate SELECT costs more the more rows are pending.
* bookkeeping alone: deliver_due with a transport whose send does nothing (N pending, and 5 per call).

Files (no SMTP_HOST: the .eml sink in OUTBOX_DIR):
* outbox: deliver_due(app, limit=N) through FileTransport (temporary file, write, fsync, rename).
* direct (the baseline): the same strings written the same way by hand.

Each round runs every path once; the table shows the median over the rounds. One warm-up round of 20
messages comes first and is not counted; it is also where the statements per delivered row are counted.

--database postgresql+psycopg://...: the public schema of that database is dropped and built again by the
migrations, so its name must contain "bench" (never point it at the test suite's database).
"""

from __future__ import annotations

import argparse
import cProfile
import logging
import multiprocessing
import os
import pstats
import smtplib
import socket
import statistics
import sys
import tempfile
import time
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

from alembic import command  # noqa: E402
from flask_babel import force_locale  # noqa: E402
from sqlalchemy import event, make_url, text  # noqa: E402
from sqlmodel import Session  # noqa: E402

from sipflow import create_app  # noqa: E402
from sipflow.cli import alembic_config  # noqa: E402
from sipflow.clock import STOCKHOLM  # noqa: E402
from sipflow.db import make_engine  # noqa: E402
from sipflow.meetings.ical import CalendarAttendee, CalendarEvent, request_ics  # noqa: E402
from sipflow.meetings.messages import when_text  # noqa: E402
from sipflow.meetings.mime import calendar_message  # noqa: E402
from sipflow.meetings.tokens import make_answer_token  # noqa: E402
from sipflow.notifications import outbox  # noqa: E402
from sipflow.notifications.transports import SmtpTransport, eml_name  # noqa: E402

SECRET = "bench-secret-key-0123456789"
MAIL_FROM = "sip@bench.sipflow.se"
START = datetime(2027, 3, 1, 7, 0, tzinfo=UTC)
INVITEES_PER_MEETING = 5
WARM_UP = 20
BOOKING = INVITEES_PER_MEETING  # rows pending per deliver_due call in the booking-sized paths


# --- the relay --------------------------------------------------------------------------------------------


class CountingHandler:
    """Accepts every message and counts it; nothing is parsed or kept."""

    def __init__(self, counter) -> None:
        self.counter = counter

    async def handle_DATA(self, server, session, envelope):
        with self.counter.get_lock():
            self.counter.value += 1
        return "250 OK"


def run_relay(port: int, counter, ready, stop) -> None:
    """The child process: an aiosmtpd Controller on 127.0.0.1:port until stop is set."""
    from aiosmtpd.controller import Controller

    logging.getLogger("mail.log").setLevel(logging.WARNING)
    # A fixed server name: aiosmtpd would otherwise call socket.getfqdn() for every connection.
    controller = Controller(
        CountingHandler(counter), hostname="127.0.0.1", port=port, server_hostname="relay.bench"
    )
    controller.start()
    ready.set()
    stop.wait()
    controller.stop()


class Relay:
    def __init__(self) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        context = multiprocessing.get_context("spawn")
        self.counter = context.Value("q", 0)
        ready, self.stop = context.Event(), context.Event()
        self.process = context.Process(
            target=run_relay, args=(self.port, self.counter, ready, self.stop), daemon=True
        )
        self.process.start()
        deadline = time.monotonic() + 30
        while not ready.wait(0.1):
            if not self.process.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the SMTP relay did not start")

    @property
    def received(self) -> int:
        return self.counter.value

    def close(self) -> None:
        self.stop.set()
        self.process.join(10)


# --- the messages -----------------------------------------------------------------------------------------


def message_parts(app, count: int) -> list[dict]:
    """Everything calendar_message takes, for count invitations: rendered once, reused by every batch."""
    parts = []
    with app.test_request_context(), force_locale("sv"):
        for number in range(count):
            meeting = number // INVITEES_PER_MEETING
            starts = START + timedelta(days=7 + meeting % 60, hours=meeting % 8)
            ends = starts + timedelta(hours=1)
            reference = f"SIP-2027-{meeting:06X}"
            video = f"https://video.region.example.se/join/{meeting:08x}?pwd=b3NrYXI"
            token = make_answer_token(SECRET, number + 1, f"{number:032x}", ends)
            context = {
                "kind": "request",
                "reference": reference,
                "when": when_text(starts),
                "ends": ends.astimezone(STOCKHOLM).strftime("%H:%M"),
                "mode": "mixed",
                "place": "Vårdcentralen Öster, Storgatan 1, Växjö, rum 3",
                "video_url": video,
                "answer_url": f"https://sip.example.se/answer/{token}",
                "case_url": f"https://sip.example.se/cases/{meeting:032x}" if number % 5 < 3 else None,
            }

            def render(name, context=context):
                return app.jinja_env.get_template(name).render(**context)

            to = f"invitee.{number}@kommun{number % 7}.example.se"
            staff = tuple(
                CalendarAttendee(f"staff.{meeting}.{k}@region.example.se", cn=name)
                for k, name in enumerate(("Vårdcentralen Öster", "Socialtjänsten Växjö", "Psykiatrin"))
            )
            event = CalendarEvent(
                uid=f"{meeting:032x}@sipflow",
                sequence=0,
                starts_at=starts,
                ends_at=ends,
                summary=f"SIP-möte {reference}",
                description=render("emails/description.txt").strip(),
                location=f"{context['place']} / {video}",
                url=video,
                organizer_email=MAIL_FROM,
                organizer_name="SIP, Vårdcentralen Öster",
                attendees=(*staff, CalendarAttendee(to)),
                last_modified=START,
            )
            parts.append(
                {
                    "sender_email": MAIL_FROM,
                    "sender_name": event.organizer_name,
                    "to": to,
                    "subject": f"SIP-möte {reference}, {context['when']}",
                    "text": render("emails/invitation.txt"),
                    "html": render("emails/invitation.html"),
                    "ics": request_ics(event, now=START),
                    "method": "REQUEST",
                }
            )
    return parts


# --- the database -----------------------------------------------------------------------------------------


def build_database(url: str) -> None:
    if make_url(url).get_backend_name() == "postgresql":
        engine = make_engine(url)
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    command.upgrade(alembic_config(url), "head")


def enqueue_batch(app, parts: list[dict], now: datetime) -> tuple[float, list[tuple[int, str, str]]]:
    """Enqueue one message per entry of parts in one transaction: (seconds, [(id, recipient, text)])."""
    messages = [calendar_message(**p) for p in parts]  # built before the clock starts
    start = time.perf_counter()
    with Session(app.extensions["sipflow.engine"], expire_on_commit=False) as session:
        rows = [
            outbox.enqueue(session, m, kind="request", case_id=None, invitation_id=None, now=now)
            for m in messages
        ]
        session.commit()
    seconds = time.perf_counter() - start
    return seconds, [(row.id, row.recipient, row.message) for row in rows]


def deliver(app, count: int, now: datetime) -> float:
    start = time.perf_counter()
    report = outbox.deliver_due(app, now=now, limit=count)
    seconds = time.perf_counter() - start
    if report.sent != count or report.retry or report.failed or report.uncertain:
        raise RuntimeError(f"expected {count} sent, got: {report}")
    return seconds


class NullTransport:
    def send(self, *, outbox_id: int, sender: str, recipient: str, message: str, now: datetime) -> None:
        pass

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *_exc) -> None:
        pass


@contextmanager
def null_transport():
    original = outbox.transport_for
    outbox.transport_for = lambda config: NullTransport()
    try:
        yield
    finally:
        outbox.transport_for = original


@contextmanager
def counting(engine, seen: dict):
    """Count the statements by their first word, and the COMMITs, sent on engine inside the block."""

    def statement(conn, cursor, sql, params, context, executemany):
        word = sql.lstrip().split(None, 1)[0].upper()
        seen[word] = seen.get(word, 0) + 1

    def commit(conn):
        seen["COMMIT"] = seen.get("COMMIT", 0) + 1

    event.listen(engine, "before_cursor_execute", statement)
    event.listen(engine, "commit", commit)
    try:
        yield
    finally:
        event.remove(engine, "before_cursor_execute", statement)
        event.remove(engine, "commit", commit)


# --- the baselines ----------------------------------------------------------------------------------------


def plain_per_message(port: int, batch) -> float:
    """smtplib, one connection per message, the commands SmtpTransport sends."""
    start = time.perf_counter()
    for _id, recipient, message in batch:
        client = smtplib.SMTP("127.0.0.1", port, timeout=10)
        client.ehlo_or_helo_if_needed()
        client.mail(MAIL_FROM)
        client.rcpt(recipient)
        code, _reply = client.data(message.encode("ascii"))
        if code != 250:
            raise RuntimeError(f"the relay answered {code}")
        client.quit()
    return time.perf_counter() - start


def transport_only(port: int, batch, now: datetime) -> float:
    transport = SmtpTransport("127.0.0.1", port)
    start = time.perf_counter()
    for row_id, recipient, message in batch:
        transport.send(outbox_id=row_id, sender=MAIL_FROM, recipient=recipient, message=message, now=now)
    transport.close()
    return time.perf_counter() - start


def plain_one_connection(port: int, batch) -> float:
    start = time.perf_counter()
    client = smtplib.SMTP("127.0.0.1", port, timeout=10)
    client.ehlo_or_helo_if_needed()
    for _id, recipient, message in batch:
        client.mail(MAIL_FROM)
        client.rcpt(recipient)
        code, _reply = client.data(message.encode("ascii"))
        if code != 250:
            raise RuntimeError(f"the relay answered {code}")
    client.quit()
    return time.perf_counter() - start


def files_direct(directory: Path, batch, now: datetime) -> float:
    """What FileTransport does, by hand: a temporary file, write, fsync, rename to <stamp>-<id>.eml."""
    directory.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    for row_id, _recipient, message in batch:
        fd, temporary = tempfile.mkstemp(dir=directory, prefix=".direct-", suffix=".tmp")
        with os.fdopen(fd, "wb") as handle:
            handle.write(message.encode("ascii"))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, directory / eml_name(row_id, now))
    return time.perf_counter() - start


# --- running ----------------------------------------------------------------------------------------------


def quiet_logging(folder: Path, off: bool):
    """Keep the app's logging (INFO on the root handler, with the redaction filter) but off the console."""
    if off:
        logging.getLogger("sipflow.notifications.outbox").setLevel(logging.WARNING)
        return None
    log_file = open(folder / "outbox.log", "a", encoding="utf-8")  # closed by main
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler) and not isinstance(handler, logging.FileHandler):
            handler.setStream(log_file)
    return log_file


ROWS = (
    # key, label ({n} and {b} are filled in), baseline key
    ("smtp_outbox", "SMTP  outbox deliver_due, {n} pending, limit={n}", "smtp_plain"),
    ("smtp_booking", "SMTP  outbox deliver_due, {b} pending per call", "smtp_plain"),
    ("smtp_plain", "SMTP  plain smtplib, a connection per message", "smtp_plain"),
    ("smtp_transport", "SMTP  SmtpTransport.send only, no database", "smtp_plain"),
    ("smtp_reuse", "SMTP  plain smtplib, one connection for all", "smtp_plain"),
    ("null_outbox", "      no-op transport (bookkeeping), {n} pending", None),
    ("null_booking", "      no-op transport (bookkeeping), {b} pending/call", None),
    ("file_outbox", "files outbox deliver_due (FileTransport), {n} pending", "file_direct"),
    ("file_direct", "files direct write + fsync + rename", "file_direct"),
    ("enqueue", "      enqueue, {n} in one transaction", None),
)


def one_round(
    app, relay: Relay, parts, folder: Path, clock: list, results: dict, seen=None, profiler=None
) -> None:
    """Every path once on len(parts) messages; clock[0] moves on so each batch is due only once."""
    n = len(parts)

    def enqueue_and_time():
        clock[0] += timedelta(minutes=1)
        seconds, batch = enqueue_batch(app, parts, clock[0])
        results.setdefault("enqueue", []).append(seconds)
        return batch

    def bookings() -> float:
        """The pattern of a booking: BOOKING rows enqueued (not timed), then one deliver_due; n in all."""
        seconds = 0.0
        for first in range(0, n, BOOKING):
            chunk = parts[first : first + BOOKING]
            clock[0] += timedelta(minutes=1)
            enqueue_batch(app, chunk, clock[0])
            seconds += deliver(app, len(chunk), clock[0])
        return seconds

    # SMTP
    app.config["SMTP_HOST"] = "127.0.0.1"
    batch = enqueue_and_time()
    before = relay.received
    if seen is not None:
        with counting(app.extensions["sipflow.engine"], seen):
            results.setdefault("smtp_outbox", []).append(deliver(app, n, clock[0]))
    else:
        results.setdefault("smtp_outbox", []).append(deliver(app, n, clock[0]))
    results.setdefault("smtp_plain", []).append(plain_per_message(relay.port, batch))
    results.setdefault("smtp_transport", []).append(transport_only(relay.port, batch, clock[0]))
    results.setdefault("smtp_reuse", []).append(plain_one_connection(relay.port, batch))
    results.setdefault("smtp_booking", []).append(bookings())
    if relay.received - before != 5 * n:
        raise RuntimeError(f"the relay received {relay.received - before} messages, expected {5 * n}")

    # bookkeeping alone
    with null_transport():
        enqueue_and_time()
        if profiler is not None:
            profiler.enable()
        results.setdefault("null_outbox", []).append(deliver(app, n, clock[0]))
        if profiler is not None:
            profiler.disable()
        results.setdefault("null_booking", []).append(bookings())

    # files
    app.config["SMTP_HOST"] = ""
    batch = enqueue_and_time()
    sink = Path(app.config["OUTBOX_DIR"])
    before_files = len(list(sink.glob("*.eml"))) if sink.exists() else 0
    results.setdefault("file_outbox", []).append(deliver(app, n, clock[0]))
    results.setdefault("file_direct", []).append(files_direct(folder / "direct", batch, clock[0]))
    if len(list(sink.glob("*.eml"))) - before_files != n:
        raise RuntimeError("the file sink did not write every message")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=500, help="messages per path and round (500)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds; the table shows medians (3)")
    parser.add_argument(
        "--database",
        default="sqlite",
        help='"sqlite" (a fresh file in a temporary folder, the default) or a PostgreSQL URL whose '
        'database name contains "bench": its public schema is dropped and rebuilt',
    )
    parser.add_argument("--keep", metavar="DIR", help="work in DIR and leave the database and files there")
    parser.add_argument(
        "--no-log",
        action="store_true",
        help="silence the outbox's INFO lines (by default they are written, as the app writes them, to a "
        "file in the work folder instead of stderr)",
    )
    parser.add_argument(
        "--profile", action="store_true", help="cProfile deliver_due with the no-op transport (all rounds)"
    )
    args = parser.parse_args(argv)
    n = args.messages

    relay = Relay()
    try:
        with tempfile.TemporaryDirectory(prefix="sipflow-bench-") as tmp:
            folder = Path(args.keep or tmp)
            folder.mkdir(parents=True, exist_ok=True)
            if args.database == "sqlite":
                url = f"sqlite:///{folder / 'outbox.sqlite3'}"
                Path(folder / "outbox.sqlite3").unlink(missing_ok=True)
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
                    "SMTP_HOST": "",
                    "SMTP_PORT": relay.port,
                    "OUTBOX_DIR": str(folder / "sink"),
                    "OUTBOX_DELIVERY": "scheduler",
                }
            )
            log_file = quiet_logging(folder, args.no_log)
            parts = message_parts(app, n)
            sizes = [len(calendar_message(**p).as_bytes()) for p in parts[:50]]
            clock = [START]
            seen: dict = {}
            profiler = cProfile.Profile() if args.profile else None
            with app.app_context():
                one_round(app, relay, parts[:WARM_UP], folder, clock, {}, seen)
                results: dict = {}
                for _ in range(args.rounds):
                    one_round(app, relay, parts, folder, clock, results, profiler=profiler)
            app.extensions["sipflow.engine"].dispose()
            if log_file is not None:
                log_file.close()
    finally:
        relay.close()

    median = {key: statistics.median(values) for key, values in results.items()}
    backend = make_url(url).get_backend_name()
    print(
        f"{n} invitation e-mails per path (about {statistics.mean(sizes) / 1024:.1f} KiB each), "
        f"{args.rounds} round(s), medians; database: {backend}; load average "
        + " ".join(f"{x:.2f}" for x in os.getloadavg())
    )
    warm = min(WARM_UP, n)
    writes = ", ".join(f"{word} {count / warm:g}" for word, count in sorted(seen.items()))
    print(f"per delivered row (deliver_due, counted in the warm-up): {writes}")
    print(f"{'path':56} {'total s':>8} {'ms/msg':>8} {'ratio':>7} {'ms/msg per round':>24}")
    for key, label, baseline in ROWS:
        label = label.format(n=n, b=BOOKING)
        seconds = median[key]
        ratio = f"{seconds / median[baseline]:7.2f}" if baseline else f"{'–':>7}"
        rounds = " ".join(f"{s / n * 1000:.2f}" for s in results[key])
        print(f"{label:56} {seconds:8.3f} {seconds / n * 1000:8.2f} {ratio} {rounds:>24}")
    extra = [(median[key] - median["smtp_plain"]) / n * 1000 for key in ("smtp_outbox", "smtp_booking")]
    print(
        f"outbox - plain over SMTP, ms/message (enqueue not included): {extra[0]:.2f} with {n} pending, "
        f"{extra[1]:.2f} with {BOOKING} pending per call"
    )
    if profiler is not None:
        pstats.Stats(profiler).strip_dirs().sort_stats("cumulative").print_stats(30)


if __name__ == "__main__":
    main()
