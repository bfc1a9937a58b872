"""Consent withdrawal is possible from every active state of every workflow and ends the case at once.

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
    if not w.is_final(state)
    for persona in allowed_personas(w.withdrawal(state), huvudansvar_after(shortest_paths(w)[state]))
]


def test_every_active_state_can_be_withdrawn_by_every_party_taking_part():
    for workflow in WORKFLOWS:
        for state in workflow.states:
            if workflow.is_final(state):
                continue
            transition = workflow.withdrawal(state)
            assert transition is not None and workflow.is_final(transition.dest), (workflow.name, state)
            holder = huvudansvar_after(shortest_paths(workflow)[state])
            assert allowed_personas(transition, holder) == [p for p in PERSONAS if p != "outsider"]


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
