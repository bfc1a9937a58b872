"""The ways only a case operation is refused; the app-wide ones are in sipflow.errors."""

from __future__ import annotations

from sipflow.errors import Conflict, InvalidInput, NotAllowed, UserError


class TransitionNotAllowed(UserError):
    """The workflow has no such transition from the case's current state."""

    status = 409
    code = "transition_not_allowed"


class PartyNotAllowed(NotAllowed):
    """The user's organisation has no party role that may fire this transition."""

    code = "party_not_allowed"


class GuardFailed(UserError):
    """A condition of the transition does not hold."""

    status = 409
    code = "guard_failed"

    def __init__(self, message, guard: str, field: str | None = None):
        super().__init__(message, field=field)
        self.guard = guard


class StaleCase(Conflict):
    """Someone else changed the case since the form was loaded."""


class CaseEnded(Conflict):
    """The SIP is in a final state of its workflow: its participants no longer change."""

    code = "case_ended"


class OpenCaseExists(Conflict):
    """The person already has an open SIP, and the user has not confirmed starting another one."""

    code = "open_case_exists"

    def __init__(self, message, case_ids: list[int]):
        super().__init__(message)
        self.case_ids = case_ids


class AdultUnconfirmed(InvalidInput):
    """A child's SIP for a person who is of age, and the user has not confirmed starting it all the same."""

    code = "adult_unconfirmed"
