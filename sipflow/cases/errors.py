"""The ways a case operation is refused; each carries a message fit to show the user."""

from __future__ import annotations


class CaseError(Exception):
    """A refused case operation; nothing was written."""

    status = 400
    code = "invalid"

    def __init__(self, message, field: str | None = None):
        super().__init__(str(message))
        self.message = message
        self.field = field


class InvalidInput(CaseError):
    """A value the user gave cannot be used."""


class TransitionNotAllowed(CaseError):
    """The workflow has no such transition from the case's current state."""

    status = 409
    code = "transition_not_allowed"


class PartyNotAllowed(CaseError):
    """The user's organisation has no party role that may fire this transition."""

    status = 403
    code = "party_not_allowed"


class GuardFailed(CaseError):
    """A condition of the transition does not hold."""

    status = 409
    code = "guard_failed"

    def __init__(self, message, guard: str):
        super().__init__(message)
        self.guard = guard


class StaleCase(CaseError):
    """Someone else changed the case since the form was loaded."""

    status = 409
    code = "conflict"


class OpenCaseExists(CaseError):
    """The person already has an open SIP, and the user has not confirmed starting another one."""

    status = 409
    code = "open_case_exists"

    def __init__(self, message, case_ids: list[int]):
        super().__init__(message)
        self.case_ids = case_ids
