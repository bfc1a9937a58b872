"""A real SMTP server for the tests: aiosmtpd on 127.0.0.1 that records what it receives and can refuse."""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
from collections import deque
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

SMTP_USER, SMTP_PASSWORD = "sipflow", "relay-password"


@dataclass(frozen=True)
class Received:
    """One message the server accepted: its envelope and the parsed message."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    message: EmailMessage
    raw: bytes
    authenticated: bool


class RecordingHandler:
    """Records every accepted message; answers the next N deliveries with a given reply when told to."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.received: list[Received] = []
        self._refusals: deque[tuple[str, str]] = deque()
        # Client connections that said EHLO (every smtplib client does, once per connection).
        self.connections = 0
        self.quits = 0
        # After this many more accepted messages the server closes that connection (None: never).
        self._drop_after: int | None = None

    def refuse_next(self, count: int, reply: str, *, at: str = "DATA") -> None:
        """Answer the next count deliveries with reply (e.g. '451 4.3.0 Try later') at RCPT or DATA."""
        if at not in ("RCPT", "DATA"):
            raise ValueError(at)
        with self._lock:
            self._refusals.extend([(at, reply)] * count)

    def clear(self) -> None:
        with self._lock:
            self.received.clear()
            self._refusals.clear()
            self.connections = 0
            self.quits = 0
            self._drop_after = None

    def drop_after(self, count: int) -> None:
        """Close the client's connection right after accepting count more messages (once)."""
        with self._lock:
            self._drop_after = count

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        with self._lock:
            self.connections += 1
        return responses

    async def handle_QUIT(self, server, session, envelope):
        with self._lock:
            self.quits += 1
        return "221 Bye"

    def _refusal(self, stage: str) -> str | None:
        with self._lock:
            if self._refusals and self._refusals[0][0] == stage:
                return self._refusals.popleft()[1]
        return None

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        refusal = self._refusal("RCPT")
        if refusal:
            return refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        refusal = self._refusal("DATA")
        if refusal:
            return refusal
        raw = envelope.content if isinstance(envelope.content, bytes) else envelope.content.encode()
        with self._lock:
            self.received.append(
                Received(
                    mail_from=envelope.mail_from,
                    rcpt_tos=tuple(envelope.rcpt_tos),
                    message=BytesParser(policy=policy.default).parsebytes(raw),
                    raw=raw,
                    authenticated=bool(session.authenticated),
                )
            )
            drop = False
            if self._drop_after is not None:
                self._drop_after -= 1
                drop = self._drop_after <= 0
                if drop:
                    self._drop_after = None
        if drop:
            # After the 250 below is written: the client finds the connection gone at its next MAIL.
            asyncio.get_running_loop().call_soon(server.transport.close)
        return "250 Message accepted for delivery"


def _authenticate(server, session, envelope, mechanism, auth_data) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        SMTP_USER.encode(),
        SMTP_PASSWORD.encode(),
    )
    return AuthResult(success=ok, handled=False)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class SmtpServer:
    """A running aiosmtpd Controller and its handler; AUTH is offered (without TLS) but not required."""

    def __init__(self) -> None:
        self.handler = RecordingHandler()
        self.host, self.port = "127.0.0.1", free_port()
        self.controller = Controller(
            self.handler,
            hostname=self.host,
            port=self.port,
            authenticator=_authenticate,
            auth_require_tls=False,
        )

    def start(self) -> SmtpServer:
        # aiosmtpd logs every connection at INFO; the suite's log scan needs none of that.
        logging.getLogger("mail.log").setLevel(logging.WARNING)
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    @property
    def received(self) -> list[Received]:
        return list(self.handler.received)

    def refuse_next(self, count: int, reply: str, *, at: str = "DATA") -> None:
        self.handler.refuse_next(count, reply, at=at)

    def clear(self) -> None:
        self.handler.clear()

    @property
    def connections(self) -> int:
        """Client connections opened since the last clear (counted at EHLO)."""
        return self.handler.connections

    @property
    def quits(self) -> int:
        """Connections the client ended with QUIT since the last clear."""
        return self.handler.quits

    def drop_after(self, count: int) -> None:
        self.handler.drop_after(count)
