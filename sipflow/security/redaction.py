"""Keep personnummer, the values a database error quotes and the tokens of addresses out of log output:
message, exception or stack."""

from __future__ import annotations

import logging
import re

# Ten or twelve digits, optionally with - or +, not part of a longer number.
_IDENTIFIER_LIKE = re.compile(r"(?<!\d)(?:\d{2})?\d{6}[-+]?\d{4}(?!\d)")
REDACTED = "[personnummer]"
# PostgreSQL's DETAIL of a failed statement quotes the values of the failing row or key (a name, an address),
# which hide_parameters does not reach: what failed is kept, the values go.
_DATABASE_DETAIL = re.compile(r"(DETAIL:\s+)(Failing row contains|Key)\b[^\n]*")
DETAIL_REDACTED = "[values hidden]"
# Formats a traceback the way every handler's Formatter would, once, so it can be redacted before them.
_TRACEBACK_FORMATTER = logging.Formatter()
# The loggers that report unhandled errors: Flask's app logger is passed in; these are the server's.
SERVER_LOGGERS = ("werkzeug", "gunicorn.error", "gunicorn.access")


# The addresses whose last part is a secret (a route's <token>): the server's request log would otherwise
# hand whoever reads it a person's plans, an invitee's answer page, a calendar feed or a password link.
TOKEN_REDACTED = "[token]"
_TOKEN_PREFIXES: set[str] = set()
_token_in_path: re.Pattern | None = None


def redact_route_tokens(url_map) -> None:
    """From now on redact the <token> part of every route of url_map that has one (for the whole process)."""
    global _token_in_path
    for rule in url_map.iter_rules():
        if "token" in rule.arguments:
            prefix = rule.rule.split("<token>", 1)[0]
            if prefix.strip("/"):  # a token right after "/" would swallow every address's first part
                _TOKEN_PREFIXES.add(prefix)
    if _TOKEN_PREFIXES:
        prefixes = "|".join(map(re.escape, sorted(_TOKEN_PREFIXES, key=len, reverse=True)))
        _token_in_path = re.compile(rf"({prefixes})[^\s/?#\"']+")


def redact(text: str) -> str:
    """Replace everything shaped like a personnummer or samordningsnummer, the values a database error's
    DETAIL quotes, and the tokens of addresses."""
    text = _IDENTIFIER_LIKE.sub(REDACTED, text)
    text = _DATABASE_DETAIL.sub(rf"\1\2 {DETAIL_REDACTED}", text)
    if _token_in_path is not None:
        text = _token_in_path.sub(rf"\1{TOKEN_REDACTED}", text)
    return text


class RedactingFilter(logging.Filter):
    """Rewrites a record's message, exception text and stack so that no personnummer passes.

    An exception's text often quotes the value that failed, so the traceback is formatted here, redacted
    and kept as `exc_text`; `exc_info` is cleared, or a handler would format the raw exception again.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info:
            if not record.exc_text:
                record.exc_text = _TRACEBACK_FORMATTER.formatException(record.exc_info)
            record.exc_info = None
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def _add_filter(target: logging.Logger | logging.Handler) -> None:
    if not any(isinstance(f, RedactingFilter) for f in target.filters):
        target.addFilter(RedactingFilter())


def install_log_redaction(*loggers: logging.Logger) -> None:
    """Give the root logger a handler if it has none, and redact every record of loggers and their handlers.

    A filter on a logger cleans the records logged on it before any handler sees them, including handlers
    added later (gunicorn's, a test's); a filter on a handler cleans what reaches it from any logger.
    """
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # transitions narrates every callback at INFO: noise in the log and a cost on every state change.
    logging.getLogger("transitions").setLevel(logging.WARNING)
    targets = (*loggers, *(logging.getLogger(name) for name in SERVER_LOGGERS))
    for logger in targets:
        _add_filter(logger)
    for logger in (root, *targets):
        for handler in logger.handlers:
            _add_filter(handler)
