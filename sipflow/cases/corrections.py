"""Correcting a start date of an open SIP (utskrivningsklar_at at discharge) while its deadline is open.

A start date is one the workflow's Ny SIP form asks for (its file's start_dates); a deadline may count from
it. A mistyped date, or a new notice because the patient was not ready after all, is corrected here rather
than by ending the SIP as entered in error: the open deadlines counting from it move (their due_at computed
by cases.deadlines.due_at, the one rule), and their reminders with them (the claim notes the column, the
deadline rows are written). Once such a deadline is met or cancelled the date is what it was measured from
(a kallelse sent in time or late, the statistics' lead times): no longer corrected.

Each correction is a row of the case's transition log (CORRECTION_TRIGGER, the state unchanged, the
reason, the date before and after in its details), shown in the timeline; the page's request is the access
log's row (audit.CASE_DATES).
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select

from sipflow.cases import deadlines, fields
from sipflow.cases.errors import CaseEnded
from sipflow.cases.models import Deadline, SipCase, TransitionLog
from sipflow.cases.services import (
    actor_organisation_id,
    check_start_date,
    check_version,
    party_roles,
    touch_case,
)
from sipflow.clock import stored_utc
from sipflow.errors import InvalidInput, NotAllowed, Refusals, UserError
from sipflow.people.models import Person, User
from sipflow.translated import lazy_gettext as _l
from sipflow.workflow.definition import HUVUDANSVARIG, INITIATOR, DeadlineDef
from sipflow.workflow.engine import WorkflowRegistry

# The transition log's trigger of a correction: no workflow's (a trigger names a transition of its file, and
# none is called this), so no deadline rule, statistic or guard ever counts it as a step.
CORRECTION_TRIGGER = "start_date_corrected"
# Who may correct: the parties that lead the SIP, as for removing participants or handing over huvudansvar.
CORRECTING_ROLES = frozenset({INITIATOR, HUVUDANSVARIG})
REASON_LIMIT = 1000
NOT_ASKED = _l("This kind of SIP has no such date to correct.")
NOT_ALLOWED = _l(
    "Only the initiating organisation or the one with overall responsibility may correct the date."
)
ENDED = _l("The SIP has ended: its dates can no longer be corrected.")
SETTLED = _l(
    "The deadline that counts from this date is no longer open (met or cancelled): the date it was "
    "measured from can no longer be corrected."
)
# The timeline's label of a correction, by the case date corrected.
CORRECTED_LABELS = {"utskrivningsklar_at": _l("Time of utskrivningsklar corrected")}
UNCHANGED = _l("That is the date the SIP already has: enter the corrected date.")
NO_REASON = _l("Say why the date is corrected.")


def rules_from(registry: WorkflowRegistry, case: SipCase, name: str) -> tuple[DeadlineDef, ...]:
    """The case's workflow's deadline rules that count from the case date name (none: not correctable)."""
    workflow = registry.get(case.workflow_name, case.workflow_version)
    if name not in workflow.start_dates:
        return ()
    return tuple(rule for rule in workflow.deadlines if rule.source_field == name)


def open_deadlines_from(session: Session, case: SipCase, rules: tuple[DeadlineDef, ...]) -> list[Deadline]:
    """The case's open deadlines of the kinds those rules give, in the order of their ids."""
    kinds = [rule.kind for rule in rules]
    if not kinds:
        return []
    return list(
        session.exec(
            select(Deadline)
            .where(
                Deadline.case_id == case.id,
                Deadline.kind.in_(kinds),
                Deadline.met_at.is_(None),
                Deadline.cancelled_at.is_(None),
            )
            .order_by(Deadline.id)
        ).all()
    )


def may_correct(session: Session, case: SipCase, actor: User, participants: list | None = None) -> bool:
    """The actor's organisation leads the SIP (initiated it or holds huvudansvar): it may correct dates."""
    roles = party_roles(session, case, actor_organisation_id(session, actor), participants)
    return bool(roles & CORRECTING_ROLES)


def correction_refusal(
    session: Session, registry: WorkflowRegistry, case: SipCase, actor: User, name: str
) -> UserError | None:
    """Why actor cannot correct the case date name now, or None: asked by the page and the correction.

    In order: a kind of SIP whose start form does not ask for the date (or no deadline counts from it), an
    ended SIP, a party that does not lead the SIP, no deadline counting from it still open.
    """
    rules = rules_from(registry, case, name)
    if not rules or getattr(case, name, None) is None:
        return InvalidInput(NOT_ASKED)
    if registry.has_ended(case):
        return CaseEnded(ENDED)
    if not may_correct(session, case, actor):
        return NotAllowed(NOT_ALLOWED)
    if not open_deadlines_from(session, case, rules):
        return InvalidInput(SETTLED)
    return None


def _check_date(name: str, value: datetime | None, old: datetime, birth_date, *, now: datetime) -> None:
    check_start_date(name, value, birth_date, now=now)
    if stored_utc(value) == stored_utc(old):
        raise InvalidInput(UNCHANGED, field=name)


def _check_reason(reason: str | None) -> str:
    reason = fields.free_text(reason, "reason", limit=REASON_LIMIT)
    if reason is None:
        raise InvalidInput(NO_REASON, field="reason")
    return reason


def correct_start_date(
    session: Session,
    registry: WorkflowRegistry,
    case: SipCase,
    actor: User,
    *,
    name: str,
    value: datetime | None,
    reason: str | None,
    expected_version: int,
    now: datetime,
) -> list[Deadline]:
    """Correct the case date name to value (UTC) with the reason; the open deadlines it moved.

    Refused as correction_refusal says, then at the fields: the date by Ny SIP's bounds (check_start_date:
    given, not in the future, not before the person's birth, at most a year back) and not the date the
    case has, the reason required (both refusals at once). A form read at another version is StaleCase.
    """
    check_version(case, expected_version)
    refusal = correction_refusal(session, registry, case, actor, name)
    if refusal is not None:
        raise refusal
    person = session.get(Person, case.person_id)
    old = getattr(case, name)
    refusals = Refusals()
    refusals.take(_check_date, name, value, old, person.birth_date if person else None, now=now)
    reason = refusals.take(_check_reason, reason)
    refusals.raise_any()
    # One claim writes the date with the version: a step or change since the form was read is a conflict,
    # and the reminders anchored on the date follow (the claim notes the column, as a step's does).
    touch_case(session, case, expected_version=expected_version, now=now, **{name: value})
    # Read after the claim: a step that met the deadline meanwhile moved the version, so these are current.
    rules = rules_from(registry, case, name)
    moved = open_deadlines_from(session, case, rules)
    if not moved:
        raise InvalidInput(SETTLED)
    by_kind = {rule.kind: rule for rule in rules}
    for deadline in moved:
        rule = by_kind[deadline.kind]
        deadline.due_at = deadlines.due_at(rule, {rule.source_field: getattr(case, rule.source_field)})
        session.add(deadline)
    session.add(
        TransitionLog(
            case_id=case.id,
            at=now,
            user_id=actor.id,
            organisation_id=actor_organisation_id(session, actor),
            trigger=CORRECTION_TRIGGER,
            from_state=case.state,
            to_state=case.state,
            reason=reason,
            details={
                "corrected": name,
                "from": stored_utc(old).isoformat(),
                "to": stored_utc(value).isoformat(),
            },
        )
    )
    session.flush()
    return moved


def logged_correction(trigger: str, details: dict) -> tuple[str, datetime, datetime] | None:
    """What a transition log row says was corrected (label, before, after), or None: not a correction."""
    if trigger != CORRECTION_TRIGGER:
        return None
    try:
        name = details["corrected"]
        before, after = datetime.fromisoformat(details["from"]), datetime.fromisoformat(details["to"])
    except (KeyError, TypeError, ValueError):
        return None
    return str(CORRECTED_LABELS.get(name, name)), before, after
