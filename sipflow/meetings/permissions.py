"""Who may book and manage a case's meetings: the parties that may send its kallelse."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from sqlmodel import Session, select

from sipflow.cases.models import SipCase, TransitionLog
from sipflow.cases.services import actor_organisation_id, allowed_transitions, party_roles
from sipflow.clock import now_utc, to_local
from sipflow.consent.services import consents_in_force
from sipflow.people.models import User
from sipflow.workflow.definition import TransitionDef
from sipflow.workflow.engine import WorkflowRegistry

KALLELSE_FORM = "kallelse"


@dataclass(frozen=True)
class BookingPermission:
    """How the user may book now: through the kallelse transition, or (transition None) a further meeting."""

    transition: TransitionDef | None


def kallelse_transitions(registry: WorkflowRegistry, case: SipCase) -> list[TransitionDef]:
    workflow = registry.get(case.workflow_name, case.workflow_version)
    return [t for t in workflow.transitions if t.form == KALLELSE_FORM]


def books_meetings(registry: WorkflowRegistry, case: SipCase) -> bool:
    """Whether the case's workflow books meetings in sipflow at all: a step of it has the kallelse form."""
    return bool(kallelse_transitions(registry, case))


def has_ended(registry: WorkflowRegistry, case: SipCase) -> bool:
    """Whether the SIP has ended (a final state of its workflow): no meeting of it is booked or changed."""
    return registry.get(case.workflow_name, case.workflow_version).is_final(case.state)


def may_manage_meetings(
    session: Session, registry: WorkflowRegistry, case: SipCase, actor: User, participants=None
) -> bool:
    """Whether the actor's organisation holds a party role that may send the case's kallelse.

    participants: the case's active participants when the caller holds them already (the case page does).
    """
    return not has_ended(registry, case) and party_manages_meetings(
        session, registry, case, actor, participants
    )


def party_manages_meetings(
    session: Session, registry: WorkflowRegistry, case: SipCase, actor: User, participants=None
) -> bool:
    """Whether the actor's party in the case is one that sends its kallelse, whether or not the SIP has
    ended: such a user is told a form of theirs came after the end, anyone else that their part allows
    none."""
    allowed = {party for t in kallelse_transitions(registry, case) for party in t.parties}
    return bool(party_roles(session, case, actor_organisation_id(session, actor), participants) & allowed)


def _kallelse_sent(session: Session, registry: WorkflowRegistry, case: SipCase) -> bool:
    triggers = [t.trigger for t in kallelse_transitions(registry, case)]
    logged = TransitionLog.case_id == case.id, TransitionLog.trigger.in_(triggers)
    return session.exec(select(TransitionLog.id).where(*logged)).first() is not None


def booking_permission(
    session: Session,
    registry: WorkflowRegistry,
    case: SipCase,
    actor: User,
    *,
    allowed: list[TransitionDef] | None = None,
    participants=None,
    consent_in_force: bool | None = None,
    logged_triggers: set[str] | None = None,
) -> BookingPermission | None:
    """The kallelse transition when it is the next step; a further meeting once the kallelse is sent.

    allowed, participants (active), consent_in_force (whether a consent is in force today), logged_triggers
    (every trigger in the case's step log): what the caller has read already (the case page has all four),
    so they are not read again.
    """
    if allowed is None:
        allowed = allowed_transitions(session, registry, case, actor, participants)
    for transition in allowed:
        if transition.form == KALLELSE_FORM:
            return BookingPermission(transition)
    if not may_manage_meetings(session, registry, case, actor, participants):
        return None
    if logged_triggers is not None:
        sent = not logged_triggers.isdisjoint(t.trigger for t in kallelse_transitions(registry, case))
    else:
        sent = _kallelse_sent(session, registry, case)
    if not sent:
        return None
    # Invitations share the time and place with other organisations: only under a consent in force.
    if consent_in_force is None:
        consent_in_force = bool(consents_in_force(session, case.id, to_local(now_utc()).date()))
    if not consent_in_force:
        return None
    return BookingPermission(None)


def step_before_booking(
    session: Session, registry: WorkflowRegistry, case: SipCase, actor: User, *, participants=None
) -> TransitionDef | None:
    """Why the actor may not book yet, when it is the SIP's state and not the actor's part in it: the step
    that leads into a state the kallelse leaves from (the last on the shortest way there from the case's
    state), which has to be taken first. None when the actor's organisation may not book at all, the SIP
    has ended, its kallelse is sent, or no way leads there.

    Only booking_permission's refusal is explained: call it when that is None.
    """
    if not may_manage_meetings(session, registry, case, actor, participants):
        return None
    workflow = registry.get(case.workflow_name, case.workflow_version)
    kallelse_states = {state for t in kallelse_transitions(registry, case) for state in t.sources}
    if case.state in kallelse_states or _kallelse_sent(session, registry, case):
        return None
    seen, ahead = {case.state}, deque([case.state])
    while ahead:
        for transition in workflow.transitions_from(ahead.popleft()):
            if transition.dest in kallelse_states:
                return transition
            if transition.dest not in seen:
                seen.add(transition.dest)
                ahead.append(transition.dest)
    return None
