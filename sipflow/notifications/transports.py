"""How an outbox row leaves: SMTP through a relay, or an .eml file in OUTBOX_DIR (development)."""

from __future__ import annotations

import os
import re
import smtplib
import ssl
import tempfile
from datetime import UTC, datetime
from pathlib import Path

TRANSIENT, PERMANENT, UNCERTAIN = "transient", "permanent", "uncertain"
# File names the file sink writes: <UTC timestamp>-<outbox id>.eml, sortable by name.
EML_NAME = re.compile(r"^(?P<stamp>\d{8}T\d{6}Z)-(?P<id>\d{1,12})\.eml$")
_ADDRESS = re.compile(r"\S+@\S+")
REASON_MAX = 200


class DeliveryError(Exception):
    """A delivery that did not happen (transient, permanent) or may have happened (uncertain)."""

    def __init__(self, outcome: str, summary: str, detail: str = "") -> None:
        super().__init__(summary)
        self.outcome = outcome
        # summary is safe for logs (a code and a stage); detail may quote the server, scrubbed of addresses.
        self.summary = summary
        self.reason = _scrub(f"{summary}: {detail}" if detail else summary)
        # The relay could not be reached at all: the rows after this one would fail the same way.
        self.server_down = False


def _scrub(text: str) -> str:
    """The text without anything shaped like an e-mail address, short enough for last_error."""
    return _ADDRESS.sub("[address]", " ".join(text.split()))[:REASON_MAX]


def _decode(reply) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply or "")


def _by_code(code: int, stage: str, reply) -> DeliveryError:
    # 5xx is a final no for this message; 4xx (and anything odd) may work later.
    outcome = PERMANENT if 500 <= code < 600 else TRANSIENT
    return DeliveryError(outcome, f"SMTP {code} at {stage}", _decode(reply))


def eml_name(outbox_id: int, now: datetime) -> str:
    """The file name of outbox row outbox_id written at now."""
    return f"{now.astimezone(UTC).strftime('%Y%m%dT%H%M%SZ')}-{outbox_id}.eml"


class FileTransport:
    """Write every message as an .eml file into a folder (the embedded default: no mail leaves)."""

    def __init__(self, directory: str | os.PathLike) -> None:
        self.directory = Path(directory)

    def send(self, *, outbox_id: int, sender: str, recipient: str, message: str, now: datetime) -> None:
        """Write message atomically as <UTC timestamp>-<outbox id>.eml."""
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            # A reader (the dev page) never sees half a file: write a hidden temporary file, then rename.
            fd, temporary = tempfile.mkstemp(dir=self.directory, prefix=".outbox-", suffix=".tmp")
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(message.encode("ascii"))
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(temporary, self.directory / eml_name(outbox_id, now))
            except BaseException:
                Path(temporary).unlink(missing_ok=True)
                raise
        except OSError as error:
            raise DeliveryError(TRANSIENT, f"file sink: {type(error).__name__}") from error

    def close(self) -> None:
        """Nothing to close: each file is complete when send returns."""

    def __enter__(self) -> FileTransport:
        return self

    def __exit__(self, *_exc) -> None:
        self.close()


class SmtpTransport:
    """Send through an SMTP relay with smtplib: plain, STARTTLS or implicit TLS, AUTH when a user is set.

    One connection serves a whole delivery run: opened at the first message, reused for the next ones
    (MAIL, RCPT, DATA each), closed by close(). A reused connection the relay dropped in the meantime is
    found at MAIL or RCPT, before any of the message went out, so that message is tried once more on a new
    connection; a break during DATA stays uncertain, never retried.
    """

    def __init__(
        self,
        host: str,
        port: int,
        security: str = "none",
        username: str = "",
        password: str = "",
        timeout: float = 10,
    ) -> None:
        if security not in ("none", "starttls", "ssl"):
            raise ValueError(f"unknown SMTP security {security!r}")
        self.host, self.port, self.security = host, port, security
        self.username, self.password, self.timeout = username, password, timeout
        self._client: smtplib.SMTP | None = None
        # Connections opened by this transport (one per run unless the relay drops one).
        self.connections = 0

    def _connect(self) -> smtplib.SMTP:
        try:
            if self.security == "ssl":
                return smtplib.SMTP_SSL(
                    self.host, self.port, timeout=self.timeout, context=ssl.create_default_context()
                )
            return smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        except smtplib.SMTPConnectError as error:
            raise _by_code(error.smtp_code, "CONNECT", error.smtp_error) from error
        except (smtplib.SMTPException, OSError) as error:
            failure = DeliveryError(TRANSIENT, f"connection failed: {type(error).__name__}")
            failure.server_down = True
            raise failure from error

    def _prepare(self, client: smtplib.SMTP) -> None:
        """EHLO, STARTTLS and AUTH: failures here are about the relay or its settings, never the message."""
        stage = "EHLO"
        try:
            client.ehlo_or_helo_if_needed()
            if self.security == "starttls":
                stage = "STARTTLS"
                client.starttls(context=ssl.create_default_context())
                client.ehlo()
            if self.username:
                stage = "AUTH"
                client.login(self.username, self.password)
        except smtplib.SMTPResponseException as error:
            # Even a 5xx here (bad password, no STARTTLS) is a setting to fix: the message stays pending.
            failure = DeliveryError(
                TRANSIENT, f"SMTP {error.smtp_code} at {stage}", _decode(error.smtp_error)
            )
            failure.server_down = True
            raise failure from error
        except (smtplib.SMTPException, OSError) as error:
            failure = DeliveryError(TRANSIENT, f"{stage} failed: {type(error).__name__}")
            failure.server_down = True
            raise failure from error

    def _open(self) -> smtplib.SMTP:
        client = self._connect()
        self.connections += 1
        try:
            self._prepare(client)
        except DeliveryError:
            _hang_up(client)
            raise
        self._client = client
        return client

    def _discard(self) -> None:
        """Forget the connection without a QUIT (it is broken, or in a state not worth repairing)."""
        client, self._client = self._client, None
        if client is not None:
            client.close()

    def _reset(self) -> None:
        """RSET after a refused message, so the next one starts a clean transaction on this connection."""
        try:
            self._client.rset()
        except (smtplib.SMTPException, OSError):
            self._discard()

    def _envelope(self, stage: str, command, address: str) -> None:
        try:
            code, reply = command(address)
        except (smtplib.SMTPException, OSError) as error:
            # Nothing of the message has been sent yet: a connection dropped here may be tried again.
            self._discard()
            raise _Dropped(stage, error) from error
        if code in (250, 251):
            return
        if code == 421:
            self._discard()  # the relay is closing this connection
        else:
            self._reset()
        if stage == "MAIL":
            # A refused sender is the relay's setting, not this message's fault: try again later.
            raise DeliveryError(TRANSIENT, f"SMTP {code} at MAIL", _decode(reply))
        raise _by_code(code, stage, reply)

    def _transaction(self, client: smtplib.SMTP, sender: str, recipient: str, message: str) -> None:
        self._envelope("MAIL", client.mail, sender)
        self._envelope("RCPT", client.rcpt, recipient)
        try:
            code, reply = client.data(message.encode("ascii"))
        except smtplib.SMTPDataError as error:  # the DATA command itself was refused: nothing sent
            self._reset()
            raise _by_code(error.smtp_code, "DATA", error.smtp_error) from error
        except (smtplib.SMTPException, OSError) as error:
            # The body may have reached the server before the line broke: sending it again could
            # deliver it twice, so this one is left for a person to check.
            self._discard()
            raise DeliveryError(UNCERTAIN, f"no answer to DATA: {type(error).__name__}") from error
        if code != 250:
            raise _by_code(code, "end of DATA", reply)

    def send(self, *, outbox_id: int, sender: str, recipient: str, message: str, now: datetime) -> None:
        """Deliver message to recipient with envelope-from sender; raise DeliveryError when it fails."""
        reused = self._client is not None
        client = self._client or self._open()
        try:
            self._transaction(client, sender, recipient, message)
        except _Dropped as dropped:
            if not reused:
                raise dropped.as_error() from dropped
            # The relay closed the idle connection between two messages: once more on a new one.
            try:
                self._transaction(self._open(), sender, recipient, message)
            except _Dropped as again:
                raise again.as_error() from again

    def close(self) -> None:
        """QUIT the run's connection, if one is open; a failing QUIT changes nothing already sent."""
        client, self._client = self._client, None
        if client is not None:
            _hang_up(client)

    def __enter__(self) -> SmtpTransport:
        return self

    def __exit__(self, *_exc) -> None:
        self.close()


class _Dropped(Exception):
    """The connection broke at MAIL or RCPT: nothing of the message was sent."""

    def __init__(self, stage: str, error: BaseException) -> None:
        super().__init__(stage)
        self.stage, self.error = stage, error

    def as_error(self) -> DeliveryError:
        failure = DeliveryError(TRANSIENT, f"{self.stage} failed: {type(self.error).__name__}")
        failure.server_down = True
        return failure


def _hang_up(client: smtplib.SMTP) -> None:
    try:
        client.quit()
    except (smtplib.SMTPException, OSError):
        client.close()


def transport_for(config) -> FileTransport | SmtpTransport:
    """SMTP when SMTP_HOST is set, else the .eml file sink in OUTBOX_DIR."""
    if config.get("SMTP_HOST"):
        return SmtpTransport(
            config["SMTP_HOST"],
            config["SMTP_PORT"],
            config["SMTP_SECURITY"],
            config["SMTP_USERNAME"],
            config["SMTP_PASSWORD"],
            config["SMTP_TIMEOUT_SECONDS"],
        )
    return FileTransport(config["OUTBOX_DIR"])
