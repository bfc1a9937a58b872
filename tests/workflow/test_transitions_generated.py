"""Every transition allowed and every transition refused, generated from the workflow files themselves.

For each workflow, state and trigger (plus one trigger no workflow knows), one test named
`workflow:state:trigger`: a trigger defined from the state must succeed for every party the file allows
and land in its destination; one not defined there must be refused with TransitionNotAllowed and change
nothing. Each party role a defined transition does not list gets its own refusal test
(`workflow:state:trigger:party=participant`, `...:party=none` for an organisation not taking part).

The cases are walked once per module (see the `walked` fixture); each test works in a session that is
rolled back, so the tests are independent of each other and of their order.
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
    allowed_personas,
    case_row,
    expected_roles,
    huvudansvar_after,
    recorded_writes,
    shortest_paths,
    valid_input,
)

from sipflow.cases import services
from sipflow.cases.errors import PartyNotAllowed, TransitionNotAllowed
from sipflow.cases.models import SipCase

# Later than every step of the walks, so inputs dated "now" are never before the walk's own records.
AT = NOW + timedelta(hours=1)


def _party_label(roles: frozenset[str]) -> str:
    return "+".join(sorted(roles)) or "none"


def _generate():
    allowed, refused_party, not_defined = [], [], []
    for workflow in WORKFLOWS:
        paths = shortest_paths(workflow)
        for state in workflow.states:
            if state not in paths:
                continue  # test_every_state_is_reachable reports it
            holder = huvudansvar_after(paths[state])
            for trigger in [*workflow.triggers, UNKNOWN_TRIGGER]:
                name = f"{workflow.name}:{state}:{trigger}"
                transition = workflow.transition(state, trigger)
                if transition is None:
                    not_defined.append(pytest.param(workflow.name, state, trigger, id=name))
                    continue
                allowed.append(pytest.param(workflow.name, state, trigger, id=name))
                seen = set()
                for persona in PERSONAS:
                    roles = expected_roles(persona, holder)
                    if roles & set(transition.parties) or roles in seen:
                        continue
                    seen.add(roles)
                    refused_party.append(
                        pytest.param(
                            workflow.name, state, trigger, persona, id=f"{name}:party={_party_label(roles)}"
                        )
                    )
    return allowed, refused_party, not_defined


ALLOWED, REFUSED_PARTY, NOT_DEFINED = _generate()


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda w: w.name)
def test_every_state_is_reachable(workflow):
    assert set(shortest_paths(workflow)) == set(workflow.states)


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda w: w.name)
def test_final_states_have_no_transitions_and_active_ones_do(workflow):
    for state in workflow.states:
        leaving = workflow.transitions_from(state)
        assert bool(leaving) != workflow.is_final(state), state


def test_generation_covers_every_state_and_trigger():
    expected = sum(len(w.states) * (len(w.triggers) + 1) for w in WORKFLOWS)
    assert len(ALLOWED) + len(NOT_DEFINED) == expected
    assert REFUSED_PARTY, "no transition is restricted to some parties"


@pytest.mark.parametrize(("workflow_name", "state", "trigger"), ALLOWED)
def test_defined_transition_succeeds_for_every_allowed_party(
    walked, request_ctx, workflow_name, state, trigger
):
    workflow = REGISTRY.latest(workflow_name)
    transition = workflow.transition(state, trigger)
    personas = allowed_personas(transition, huvudansvar_after(shortest_paths(workflow)[state]))
    assert personas, f"no party of a case may fire {trigger}"
    for persona in personas:
        with walked.session() as session:
            case = session.get(SipCase, walked.case_ids[(workflow_name, state)])
            _, version, logs = case_row(session, case.id)
            actor = walked.cast.user(session, persona)
            data = valid_input(session, case, transition, walked.cast, AT)
            with recorded_writes(session) as writes:
                log = services.fire_transition(
                    session,
                    REGISTRY,
                    actor,
                    case,
                    trigger,
                    expected_version=version,
                    now=AT,
                    data=data,
                )
            # Also shows that recorded_writes sees writes, which the refusal tests rely on.
            # (On PostgreSQL a step's deadline write may carry its log row in a WITH.)
            assert any("INSERT INTO TRANSITIONLOG" in " ".join(w.split()).upper() for w in writes)
            assert case.state == transition.dest, persona
            assert case_row(session, case.id) == (transition.dest, version + 1, logs + 1), persona
            assert (log.case_id, log.trigger, log.from_state, log.to_state) == (
                case.id,
                trigger,
                state,
                transition.dest,
            )
            assert (log.user_id, log.organisation_id, log.at) == (
                actor.id,
                walked.cast.org_ids[persona],
                AT,
            )


@pytest.mark.parametrize(("workflow_name", "state", "trigger", "persona"), REFUSED_PARTY)
def test_transition_refused_for_party_not_listed(walked, request_ctx, workflow_name, state, trigger, persona):
    transition = REGISTRY.latest(workflow_name).transition(state, trigger)
    with walked.session() as session:
        case = session.get(SipCase, walked.case_ids[(workflow_name, state)])
        version = case.version
        # The party is refused before the form is read. A plan's scripted input would first give
        # huvudansvar (its own action), changing the very roles under test: it sends the bare version.
        data = (
            {"plan_row_version": 1}
            if transition.form == "plan"
            else valid_input(session, case, transition, walked.cast, AT)
        )
        before = case_row(session, case.id)
        with recorded_writes(session) as writes, pytest.raises(PartyNotAllowed):
            services.fire_transition(
                session,
                REGISTRY,
                walked.cast.user(session, persona),
                case,
                trigger,
                expected_version=version,
                now=AT,
                data=data,
            )
        assert (case.state, case.version) == (state, version)
        assert not (session.new or session.dirty or session.deleted)
        assert case_row(session, case.id) == before
        assert writes == []


@pytest.mark.parametrize(("workflow_name", "state", "trigger"), NOT_DEFINED)
def test_trigger_not_defined_from_state_is_refused(walked, request_ctx, workflow_name, state, trigger):
    with walked.session() as session:
        case = session.get(SipCase, walked.case_ids[(workflow_name, state)])
        version = case.version
        before = case_row(session, case.id)
        with recorded_writes(session) as writes, pytest.raises(TransitionNotAllowed):
            services.fire_transition(
                session,
                REGISTRY,
                walked.cast.user(session, "initiator"),
                case,
                trigger,
                expected_version=version,
                now=AT,
                data={"reason": "Försök"},
            )
        assert (case.state, case.version) == (state, version)
        assert not (session.new or session.dirty or session.deleted)
        assert case_row(session, case.id) == before
        assert writes == []
