"""Keep personnummer out of log output, whatever a log call was handed."""

from __future__ import annotations

import logging
import re

# Ten or twelve digits, optionally with - or +, not part of a longer number.
_IDENTIFIER_LIKE = re.compile(r"(?<!\d)(?:\d{2})?\d{6}[-+]?\d{4}(?!\d)")
REDACTED = "[personnummer]"


def redact(text: str) -> str:
    """Replace everything shaped like a personnummer or samordningsnummer."""
    return _IDENTIFIER_LIKE.sub(REDACTED, text)


class RedactingFilter(logging.Filter):
    """A handler filter that rewrites the formatted message of every record it passes."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def install_log_redaction(*loggers: logging.Logger) -> None:
    """Give the root logger a handler if it has none, and put the filter on every handler of loggers."""
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # transitions narrates every callback at INFO: noise in the log and a cost on every state change.
    logging.getLogger("transitions").setLevel(logging.WARNING)
    for logger in (root, *loggers):
        for handler in logger.handlers:
            if not any(isinstance(f, RedactingFilter) for f in handler.filters):
                handler.addFilter(RedactingFilter())
