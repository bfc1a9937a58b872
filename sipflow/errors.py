"""The app-wide ways an operation is refused; each carries a message fit to show the user.

Any area's service raises these (or a subclass of its own); views translate them into a page, CLI commands
into a message. They import nothing from sipflow, so every layer may use them.
"""

from __future__ import annotations


class UserError(Exception):
    """A refused operation; nothing was written. `field` names the input it concerns, if one does."""

    status = 400
    code = "invalid"

    def __init__(self, message, field: str | None = None):
        super().__init__(str(message))
        self.message = message
        self.field = field


class InvalidInput(UserError):
    """A value the user gave cannot be used."""


class NotAllowed(UserError):
    """The user may not do this."""

    status = 403
    code = "not_allowed"


class Conflict(UserError):
    """The thing changed, or stands in the way, since the user last saw it."""

    status = 409
    code = "conflict"
