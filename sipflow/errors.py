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
        # The message as given (a lazy translation is looked up when shown, not here: an error built in
        # advance and never raised, as a claim's "busy", cost a catalogue look-up at every step).
        super().__init__(message)
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


class InvalidInputs(InvalidInput):
    """Several values the user gave cannot be used: `errors` holds each refusal, to show every one at once.

    Its own message and field are the first refusal's, so a caller that shows one refusal still shows it.
    """

    def __init__(self, errors: list[InvalidInput]):
        super().__init__(errors[0].message, errors[0].field)
        self.errors = list(errors)


class Refusals:
    """The refusals of independent checks, gathered so that a form's fields are refused all at once.

    kinds: the refusals gathered (InvalidInput; a form may add Conflict, a value someone else holds); any
    other error passes through at once.
    """

    def __init__(self, kinds: tuple[type[UserError], ...] = ()) -> None:
        self.kinds = (InvalidInput, *kinds)
        self.errors: list[UserError] = []

    def take(self, check, *args, default=None, **kwargs):
        """check(*args, **kwargs), or default when it refuses (each of its refusals kept)."""
        try:
            return check(*args, **kwargs)
        except InvalidInputs as error:
            self.errors.extend(error.errors)
        except self.kinds as error:
            self.errors.append(error)
        return default

    def refuse(self, message, field: str) -> None:
        """Keep a refusal of field with message (a check written in place rather than as a function)."""
        self.errors.append(InvalidInput(message, field=field))

    def raise_any(self) -> None:
        """Raise what was refused: the one refusal as it is, several as InvalidInputs; nothing if none."""
        if len(self.errors) == 1:
            raise self.errors[0]
        if self.errors:
            raise InvalidInputs(self.errors)


def refusal_of(check, *args, **kwargs) -> InvalidInput | None:
    """What check(*args, **kwargs) refuses (InvalidInputs: several), or None: for a page whose own form checks
    refused the form already, so it marks every field the service would refuse too, at once."""
    try:
        check(*args, **kwargs)
    except InvalidInput as refused:
        return refused
    return None


def every_refusal(checks) -> list:
    """The value of each check (a callable taking nothing), or InvalidInputs holding every refusal among
    them (InvalidInput itself when there is one): a form's independent fields are refused all at once."""
    refusals = Refusals()
    values = [refusals.take(check) for check in checks]
    refusals.raise_any()
    return values
