"""Consent withdrawal is possible from every active state a consent may be in force in (every one after the
consent step) of every workflow and ends the case at once; before the consent step it is not offered.

Withdrawing marks every consent of the case withdrawn, cancels the deadlines still open, and leaves the case
in a final state from which no trigger moves it. The cases are the module's walked cases; every session is
rolled back.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from flowkit import (
    NOW,
    PERSONAS,
    REGISTRY,
    UNKNOWN_TRIGGER,
    WORKFLOWS,
    Cast,
    allowed_personas,
    consent_states,
    huvudansvar_after,
    shortest_paths,
)
from sqlmodel import select

from sipflow.cases import services
from sipflow.cases.errors import TransitionNotAllowed
from sipflow.cases.models import Deadline, SipCase
from sipflow.consent.models import Consent

AT = NOW + timedelta(hours=2)
REASON = "Personen vill inte längre delta"

ACTIVE_STATES = [
    pytest.param(w, state, persona, id=f"{w.name}:{state}:by-{persona}")
    for w in WORKFLOWS
    for state in w.states
    if not w.is_final(state) and state in consent_states(w)
    for persona in allowed_personas(w.withdrawal(state), huvudansvar_after(shortest_paths(w)[state]))
]


def test_every_active_state_after_the_consent_can_be_withdrawn_by_every_party_taking_part():
    for workflow in WORKFLOWS:
        for state in workflow.states:
            if workflow.is_final(state) or state not in consent_states(workflow):
                continue
            transition = workflow.withdrawal(state)
            assert transition is not None and workflow.is_final(transition.dest), (workflow.name, state)
            holder = huvudansvar_after(shortest_paths(workflow)[state])
            assert allowed_personas(transition, holder) == [p for p in PERSONAS if p != "outsider"]


def test_no_state_before_the_consent_offers_its_withdrawal():
    """A SIP without a consent yet is declined or cancelled, never ended as "consent withdrawn"."""
    for workflow in WORKFLOWS:
        after = consent_states(workflow)
        before = [s for s in workflow.states if not workflow.is_final(s) and s not in after]
        assert workflow.initial in before, workflow.name
        for state in before:
            assert workflow.withdrawal(state) is None, (workflow.name, state)


def test_withdrawing_consent_before_the_consent_step_is_refused(walked, request_ctx):
    for workflow in WORKFLOWS:
        with walked.session() as session:
            case = session.get(SipCase, walked.case_ids[(workflow.name, workflow.initial)])
            with pytest.raises(TransitionNotAllowed):
                services.fire_transition(
                    session,
                    REGISTRY,
                    walked.cast.user(session, "initiator"),
                    case,
                    next(t.trigger for t in workflow.transitions if t.withdraws_consent),
                    expected_version=case.version,
                    now=AT,
                    data={"reason": REASON},
                )
            assert case.state == workflow.initial


def withdraw(session, cast: Cast, case: SipCase, persona: str):
    return services.fire_transition(
        session,
        REGISTRY,
        cast.user(session, persona),
        case,
        REGISTRY.get(case.workflow_name, case.workflow_version).withdrawal(case.state).trigger,
        expected_version=case.version,
        now=AT,
        data={"reason": REASON},
    )


@pytest.mark.parametrize(("workflow", "state", "persona"), ACTIVE_STATES)
def test_withdrawal_ends_the_case_and_withdraws_every_consent(walked, request_ctx, workflow, state, persona):
    with walked.session() as session:
        case = session.get(SipCase, walked.case_ids[(workflow.name, state)])
        consents = session.exec(select(Consent).where(Consent.case_id == case.id)).all()
        # States past the consent step carry the consent that was given on the way.
        assert bool(consents) == any(t.form == "consent" for t in shortest_paths(workflow)[state])

        log = withdraw(session, walked.cast, case, persona)
        session.flush()

        assert workflow.is_final(case.state)
        assert log.to_state == case.state and log.reason == REASON
        for consent in session.exec(select(Consent).where(Consent.case_id == case.id)).all():
            session.refresh(consent)
            assert (consent.withdrawn_at, consent.withdrawn_reason) == (AT, REASON)
        open_deadlines = session.exec(
            select(Deadline).where(
                Deadline.case_id == case.id, Deadline.met_at.is_(None), Deadline.cancelled_at.is_(None)
            )
        ).all()
        assert open_deadlines == []

        # Nothing moves the case any more, whoever asks.
        version = case.version
        for trigger in [*workflow.triggers, UNKNOWN_TRIGGER]:
            for someone in PERSONAS:
                with pytest.raises(TransitionNotAllowed):
                    services.fire_transition(
                        session,
                        REGISTRY,
                        walked.cast.user(session, someone),
                        case,
                        trigger,
                        expected_version=version,
                        now=AT + timedelta(minutes=1),
                        data={"reason": "Igen"},
                    )
        assert (case.state, case.version) == (log.to_state, version)
