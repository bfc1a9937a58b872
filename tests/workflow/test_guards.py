"""Every guard the workflow files name refuses when its condition does not hold, and nothing is written.

Each scenario reaches a real state through the service layer, then fires a transition whose guard must
fail. A refusal raises GuardFailed naming the guard, and the database afterwards is exactly as before.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import support
from flowkit import (
    NOW,
    REGISTRY,
    WORKFLOWS,
    fire,
    shortest_paths,
    snapshot,
    today,
    valid_input,
    walk_to,
)
from sqlmodel import select

from sipflow.areas import load_areas
from sipflow.cases import services
from sipflow.cases.errors import GuardFailed
from sipflow.cases.models import Participant, SipCase
from sipflow.clock import to_local
from sipflow.consent.models import Consent
from sipflow.consent.services import give_consent
from sipflow.consent.workflow_hooks import consent_valid
from sipflow.db import unit_of_work
from sipflow.errors import InvalidInput
from sipflow.people.models import Person
from sipflow.plans.editor import save_plan
from sipflow.plans.responsibility import give_first_huvudansvar_unclaimed
from sipflow.plans.services import find_plan
from sipflow.workflow.context import TransitionContext
from sipflow.workflow.registry import GUARDS

# The workflow files name guards, effects and inputs the areas register.
load_areas()


def guards_used() -> set[str]:
    return {name for w in WORKFLOWS for t in w.transitions for name in t.conditions}


def transitions_with(guard: str, *, first: bool = False):
    """(workflow, source state, transition) for every transition that names guard (as its first guard)."""
    for workflow in WORKFLOWS:
        for transition in workflow.transitions:
            if guard in transition.conditions and (not first or transition.conditions[0] == guard):
                for source in transition.sources:
                    yield workflow, source, transition


def first_on_the_way(guard: str):
    """Per workflow, the transition naming guard whose source state is the fewest steps from the start."""
    for workflow in WORKFLOWS:
        paths = shortest_paths(workflow)
        found = [(len(paths[s]), s, t) for w, s, t in transitions_with(guard) if w is workflow]
        if found:
            _, state, transition = min(found, key=lambda item: item[0])
            yield pytest.param(
                workflow, state, transition, id=f"{workflow.name}:{state}:{transition.trigger}"
            )


def select_consents(case_id: int):
    return select(Consent).where(Consent.case_id == case_id)


def assert_refused(session, case, trigger, cast, *, guard, now, data, persona="initiator", registry=REGISTRY):
    """Fire in a unit of work; it must fail on guard and leave the database exactly as it was."""
    engine = session.get_bind()
    with engine.connect() as connection:
        before = snapshot(connection)
    with pytest.raises(GuardFailed) as refused:
        fire(session, case, trigger, persona, cast, now=now, data=data, registry=registry)
    assert refused.value.guard == guard
    if GUARDS[guard].explain is None:
        assert refused.value.message == GUARDS[guard].message
    else:  # the message of the step, naming what is missing, or the fixed one when there is nothing to name
        assert str(refused.value.message)
    with engine.connect() as connection:
        assert snapshot(connection) == before
    session.refresh(case)
    return refused.value


def test_every_guard_used_by_the_files_is_known():
    assert guards_used() <= set(GUARDS)


def test_every_guard_used_by_the_files_has_a_refusal_test():
    tests = [name for name in globals() if name.startswith("test_refuses_")]
    untested = {g for g in guards_used() if not any(t.startswith(f"test_refuses_{g}_") for t in tests)}
    assert not untested, sorted(untested)


# consent_valid -----------------------------------------------------------------------------------------

CONSENT_VALID = [
    pytest.param(w, s, t, id=f"{w.name}:{s}:{t.trigger}")
    for w, s, t in transitions_with("consent_valid", first=True)
    # A transition that records the consent itself is checked by its form, before any guard.
    if t.form != "consent"
]


@pytest.mark.parametrize(("workflow", "state", "transition"), CONSENT_VALID)
def test_refuses_consent_valid_when_the_consent_has_expired(db_session, cast, workflow, state, transition):
    case = walk_to(db_session, cast, workflow, state)
    consents = db_session.exec(select_consents(case.id)).all()
    assert consents and all(c.valid_until is not None for c in consents)
    later = NOW + timedelta(days=1) + (max(c.valid_until for c in consents) - today(NOW))
    assert all(c.valid_until < today(later) for c in consents)
    data = valid_input(db_session, case, transition, cast, later)
    assert_refused(db_session, case, transition.trigger, cast, guard="consent_valid", now=later, data=data)


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda w: w.name)
def test_refuses_consent_valid_when_the_consent_was_withdrawn(db_session, cast, workflow):
    _, state, transition = next(
        (w, s, t)
        for w, s, t in transitions_with("consent_valid", first=True)
        if w is workflow and s != w.initial
    )
    case = walk_to(db_session, cast, workflow, state)
    for consent in db_session.exec(select_consents(case.id)).all():
        consent.withdrawn_at = NOW + timedelta(minutes=30)
        db_session.add(consent)
    db_session.commit()
    at = NOW + timedelta(hours=1)
    data = valid_input(db_session, case, transition, cast, at)
    assert_refused(db_session, case, transition.trigger, cast, guard="consent_valid", now=at, data=data)


def test_a_consent_valid_through_today_still_counts(db_session, cast):
    workflow = REGISTRY.latest("sip")
    case = walk_to(db_session, cast, workflow, workflow.initial)
    transition = workflow.transition(case.state, "give_consent")
    data = valid_input(db_session, case, transition, cast, NOW) | {"valid_until": today(NOW)}
    fire(db_session, case, "give_consent", "initiator", cast, now=NOW, data=data)
    later = NOW + timedelta(hours=3)
    assert today(later) == today(NOW)
    next_step = workflow.transitions_from(case.state)[0]
    fire(
        db_session,
        case,
        next_step.trigger,
        "initiator",
        cast,
        now=later,
        data=valid_input(db_session, case, next_step, cast, later),
    )


# guardians_consented -----------------------------------------------------------------------------------

# The consent step, whose form names the guardians consenting.
GUARDIANS = [
    pytest.param(w, s, t, id=f"{w.name}:{s}:{t.trigger}")
    for w, s, t in transitions_with("guardians_consented")
    if t.form == "consent"
]
# The steps after it that share the SIP: a guardian who joined later must have consented first.
GUARDIANS_LATER = [
    pytest.param(w, s, t, id=f"{w.name}:{s}:{t.trigger}")
    for w, s, t in transitions_with("guardians_consented")
    if t.form != "consent"
]


@pytest.mark.parametrize(("workflow", "state", "transition"), GUARDIANS)
def test_a_childs_consent_from_the_person_is_refused_at_given_by(
    db_session, cast, workflow, state, transition
):
    """Refused before the guard, by the consent input's rule of who gives a child's consent (_givers)."""
    case = walk_to(db_session, cast, workflow, state)
    data = valid_input(db_session, case, transition, cast, NOW) | {"given_by": "person"}
    with pytest.raises(InvalidInput) as refused:
        fire(db_session, case, transition.trigger, "initiator", cast, now=NOW, data=data)
    assert refused.value.field == "given_by"
    assert "välj ”Vårdnadshavare”" in str(refused.value.message)
    db_session.rollback()
    db_session.refresh(case)
    assert case.state == state


def _at_guardians_consent(db_session, registry, cast, workflow, state, transition):
    """A case at the guardians' consent step with two guardians taking part, and that step's valid form."""
    case = walk_to(db_session, cast, workflow, state)
    support.two_guardians(db_session, registry, case, now=NOW)
    db_session.commit()
    return case, valid_input(db_session, case, transition, cast, NOW)


@pytest.mark.parametrize(("workflow", "state", "transition"), GUARDIANS)
def test_guardians_consented_needs_every_guardian(db_session, registry, cast, workflow, state, transition):
    case, data = _at_guardians_consent(db_session, registry, cast, workflow, state, transition)
    assert data["given_by"] == "guardian"
    first, second = data["guardian_participant_ids"]
    # One guardian's consent is not enough while another guardian takes part: the refusal names the other.
    refused = assert_refused(
        db_session,
        case,
        transition.trigger,
        cast,
        guard="guardians_consented",
        now=NOW,
        data={**data, "guardian_participant_ids": [first]},
    )
    names = {p.id: p.name for p in db_session.exec(select(Participant).where(Participant.case_id == case.id))}
    assert names[second] in str(refused.message) and names[first] not in str(refused.message)
    # Before a first consent there is no further consent to record: the refusal points to the form's boxes.
    assert "ytterligare samtycke" not in str(refused.message)
    assert "”Vårdnadshavare som samtycker”" in str(refused.message)
    # Both guardians consenting in one step records a consent for each and moves the case.
    fire(db_session, case, transition.trigger, "initiator", cast, now=NOW, data=data)
    consents = db_session.exec(select(Consent).where(Consent.case_id == case.id)).all()
    assert {c.given_by_participant_id for c in consents} == {first, second}


@pytest.mark.parametrize(("workflow", "state", "transition"), GUARDIANS_LATER)
def test_refuses_guardians_consented_for_a_guardian_who_joined_after_the_consent(
    db_session, registry, cast, workflow, state, transition
):
    case = walk_to(db_session, cast, workflow, state)
    # Past the walk's steps, so the step's own dates (a meeting held, a follow-up) come after them.
    at = NOW + timedelta(hours=2)
    later = services.add_private_participant(
        db_session,
        registry,
        case,
        kind="guardian",
        name="Vårdnadshavare Två",
        relation="förälder",
        email=None,
        phone=None,
        now=at,
    )
    db_session.commit()
    data = valid_input(db_session, case, transition, cast, at)
    refused = assert_refused(
        db_session, case, transition.trigger, cast, guard="guardians_consented", now=at, data=data
    )
    assert "Vårdnadshavare Två" in str(refused.message)
    # Their consent recorded as a further consent, the step goes on.
    organisations = {
        p.organisation_id
        for p in db_session.exec(select(Participant).where(Participant.case_id == case.id)).all()
        if p.organisation_id is not None and p.active
    }
    with unit_of_work(db_session):
        give_consent(
            db_session,
            case,
            cast.user(db_session, "initiator"),
            {
                "given_by": "guardian",
                "form": "written",
                "organisation_ids": sorted(organisations),
                "guardian_participant_ids": [later.id],
            },
            now=at,
        )
    # The step's form as a page would give it now (a plan step's form carries the plan's row version).
    data = valid_input(db_session, case, transition, cast, at)
    fire(db_session, case, transition.trigger, "initiator", cast, now=at, data=data)
    assert case.state == transition.dest


def _consent_reads(statements: list[str]) -> list[str]:
    return [s for s in statements if s.lstrip().upper().startswith("SELECT CONSENT.")]


@pytest.mark.parametrize(("workflow", "state", "transition"), GUARDIANS)
def test_guardians_consented_by_the_step_alone_reads_no_consents(
    db_session, registry, cast, workflow, state, transition
):
    case, data = _at_guardians_consent(db_session, registry, cast, workflow, state, transition)
    with support.statements(db_session.get_bind()) as seen:
        fire(db_session, case, transition.trigger, "initiator", cast, now=NOW, data=data)
    assert _consent_reads(seen) == []


@pytest.mark.parametrize(("workflow", "state", "transition"), GUARDIANS)
def test_guardians_consented_counts_an_earlier_guardians_consent_in_force(
    db_session, registry, cast, workflow, state, transition
):
    # What the step records is not enough alone: the other guardian consented before. That consent came
    # with the step's first read (the participants'), before the step recorded its own; both count.
    case, data = _at_guardians_consent(db_session, registry, cast, workflow, state, transition)
    first, second = data["guardian_participant_ids"]
    db_session.add(
        Consent(
            case_id=case.id,
            decision="given",
            given_by="guardian",
            given_by_participant_id=first,
            form="written",
            recorded_at=NOW - timedelta(days=1),
            recorded_by_user_id=cast.user(db_session, "initiator").id,
        )
    )
    db_session.commit()
    with support.statements(db_session.get_bind()) as seen:
        fire(
            db_session,
            case,
            transition.trigger,
            "initiator",
            cast,
            now=NOW,
            data={**data, "guardian_participant_ids": [second]},
        )
    assert _consent_reads(seen) == []
    assert case.state == transition.dest


def test_consent_valid_reads_the_consents_when_the_first_read_found_no_participant(db_session, cast):
    """Participants are never removed, but should none be active the guard still asks the consents."""
    workflow = REGISTRY.latest("sip")
    case = walk_to(db_session, cast, workflow, "consent_given")
    for participant in db_session.exec(select(Participant).where(Participant.case_id == case.id)):
        participant.removed_at = NOW - timedelta(hours=1)
        db_session.add(participant)
    db_session.commit()
    ctx = TransitionContext(session=db_session, case=case, actor=None, now=NOW, trigger="start_preparation")
    with support.statements(db_session.get_bind()) as seen:
        assert consent_valid(ctx)
    assert len(_consent_reads(seen)) == 1


def test_consent_valid_reads_no_consents_when_the_step_records_one(db_session, cast):
    workflow = REGISTRY.latest("sip")
    case = walk_to(db_session, cast, workflow, workflow.initial)
    transition = workflow.transition(case.state, "give_consent")
    assert tuple(transition.conditions) == ("consent_valid",)
    data = valid_input(db_session, case, transition, cast, NOW)
    with support.statements(db_session.get_bind()) as seen:
        fire(db_session, case, "give_consent", "initiator", cast, now=NOW, data=data)
    assert _consent_reads(seen) == []
    assert case.state == transition.dest


# two_organisations, school_participates, child_view_recorded ------------------------------------------


@pytest.mark.parametrize(
    ("workflow", "state", "transition"),
    # The first such transition on the way: the later ones cannot be reached with one organisation.
    list(first_on_the_way("two_organisations")),
)
def test_refuses_two_organisations_with_only_the_initiator(db_session, cast, workflow, state, transition):
    case = walk_to(db_session, cast, workflow, state, participants=())
    data = valid_input(db_session, case, transition, cast, NOW + timedelta(hours=1))
    assert_refused(
        db_session,
        case,
        transition.trigger,
        cast,
        guard="two_organisations",
        now=NOW + timedelta(hours=1),
        data=data,
    )


@pytest.mark.parametrize(
    ("workflow", "state", "transition"),
    [
        pytest.param(w, s, t, id=f"{w.name}:{s}:{t.trigger}")
        for w, s, t in transitions_with("school_participates")
    ],
)
def test_refuses_school_participates_for_a_child_case_without_a_school(
    db_session, cast, workflow, state, transition
):
    # The municipality takes part, so only the school is missing.
    case = walk_to(db_session, cast, workflow, state, participants=("huvudansvarig",))
    at = NOW + timedelta(hours=1)
    data = valid_input(db_session, case, transition, cast, at)
    assert_refused(db_session, case, transition.trigger, cast, guard="school_participates", now=at, data=data)


@pytest.mark.parametrize(
    ("workflow", "state", "transition"),
    [
        pytest.param(w, s, t, id=f"{w.name}:{s}:{t.trigger}")
        for w, s, t in transitions_with("child_view_recorded")
        if t.form == "preparation"
    ],
)
@pytest.mark.parametrize("child_view", [None, "", "   "])
def test_refuses_child_view_recorded_without_the_childs_view(
    db_session, cast, workflow, state, transition, child_view
):
    case = walk_to(db_session, cast, workflow, state)
    at = NOW + timedelta(hours=1)
    data = valid_input(db_session, case, transition, cast, at) | {"child_view": child_view}
    assert_refused(db_session, case, transition.trigger, cast, guard="child_view_recorded", now=at, data=data)
    assert db_session.get(SipCase, case.id).child_view is None


# meeting_outcome_recorded ------------------------------------------------------------------------------

MEETING_OUTCOME = [
    pytest.param(w, s, t, id=f"{w.name}:{s}:{t.trigger}")
    for w, s, t in transitions_with("meeting_outcome_recorded")
]
NO_OUTCOME = {
    "no-decision": {"decisions": []},
    "blank-no-change-reason": {"decisions": [], "no_change_reason": "   "},
    # A row left blank is dropped by the input handler, so it must not satisfy the guard.
    "blank-decision-row": {"decisions": [{"text": "  ", "owner": " ", "due_on": None}]},
    # What a form or API sends for "no decisions": the handler accepts None, so must the guard.
    "decisions-none": {"decisions": None},
}
# A decision row filled in part never reaches the guard: the input refuses it at the missing field.
INCOMPLETE_DECISION = {
    "decision-without-owner": ({"text": "Ringa", "owner": "", "due_on": today(NOW)}, "owner"),
    "decision-without-date": ({"text": "Ringa", "owner": "{owner}", "due_on": None}, "due_on"),
    "decision-with-blank-owner": ({"text": "Ringa", "owner": " ", "due_on": today(NOW)}, "owner"),
    "decision-with-blank-text": ({"text": "  ", "owner": "{owner}", "due_on": today(NOW)}, "text"),
    "decision-with-unknown-owner": ({"text": "Ringa", "owner": "Kommunen", "due_on": today(NOW)}, "owner"),
}


@pytest.mark.parametrize(("workflow", "state", "transition"), MEETING_OUTCOME)
def test_refuses_meeting_outcome_recorded_without_decision_or_reason(
    db_session, cast, workflow, state, transition
):
    case = walk_to(db_session, cast, workflow, state)
    at = NOW + timedelta(hours=1)
    data = valid_input(db_session, case, transition, cast, at) | NO_OUTCOME["no-decision"]
    assert_refused(
        db_session, case, transition.trigger, cast, guard="meeting_outcome_recorded", now=at, data=data
    )


# The guard is one function whatever the workflow: the kinds of incomplete outcome on the first meeting only.
FIRST_MEETING = next(first_on_the_way("meeting_outcome_recorded")).values


@pytest.mark.parametrize("outcome", list(NO_OUTCOME))
def test_refuses_meeting_outcome_recorded_for_every_incomplete_outcome(db_session, cast, outcome):
    workflow, state, transition = FIRST_MEETING
    case = walk_to(db_session, cast, workflow, state)
    at = NOW + timedelta(hours=1)
    data = valid_input(db_session, case, transition, cast, at) | NO_OUTCOME[outcome]
    assert_refused(
        db_session, case, transition.trigger, cast, guard="meeting_outcome_recorded", now=at, data=data
    )
    assert db_session.get(SipCase, case.id).state == state


@pytest.mark.parametrize("outcome", list(INCOMPLETE_DECISION))
def test_a_decision_filled_in_part_is_refused_at_its_missing_field(db_session, cast, outcome):
    workflow, state, transition = FIRST_MEETING
    case = walk_to(db_session, cast, workflow, state)
    at = NOW + timedelta(hours=1)
    row, missing = INCOMPLETE_DECISION[outcome]
    row = {**row, "owner": row["owner"].replace("{owner}", f"organisation:{case.initiating_organisation_id}")}
    data = valid_input(db_session, case, transition, cast, at) | {"decisions": [row]}
    with pytest.raises(InvalidInput) as refused:
        fire(db_session, case, transition.trigger, "initiator", cast, now=at, data=data)
    assert refused.value.field == f"decisions-0-{missing}"
    db_session.rollback()
    assert db_session.get(SipCase, case.id).state == state


@pytest.mark.parametrize("decisions", [[], None], ids=["decisions-empty", "decisions-none"])
def test_meeting_outcome_with_only_a_no_change_reason_is_enough(db_session, cast, decisions):
    workflow, state, transition = FIRST_MEETING
    case = walk_to(db_session, cast, workflow, state)
    at = NOW + timedelta(hours=1)
    data = valid_input(db_session, case, transition, cast, at) | {
        "decisions": decisions,
        "no_change_reason": "Planen fungerar, inget ändras",
    }
    log = fire(db_session, case, transition.trigger, "initiator", cast, now=at, data=data)
    assert case.state == transition.dest
    assert log.details["no_change_reason"] == "Planen fungerar, inget ändras"


# The plan's guards: huvudansvar_assigned and plan_* -------------------------------------------------------
# Generated from the files: every step whose form is the plan's, every condition it names. A plan that
# lacks exactly one item is refused with that item's guard; the complete plan passes.

PLAN_STEPS = [
    pytest.param(w, s, t, id=f"{w.name}:{s}:{t.trigger}")
    for w in WORKFLOWS
    for t in w.transitions
    if t.form == "plan"
    for s in t.sources
]
# Conditions of the plan steps that are not an item of the plan (tested on their own above).
# Conditions about the SIP rather than its plan: the plan editor cannot break them (who takes part is
# tested on its own: tests/plans/test_editor_page.py).
NOT_PLAN_ITEMS = {"consent_valid", "guardians_consented", "two_organisations"}


def _without(kind):
    return lambda data: data.update(efforts=[e for e in data["efforts"] if e["kind"] != kind])


# How to take each item out of a complete plan (None: the case itself lacks it, not the plan's data).
BREAKERS = {
    "plan_own_goals_recorded": lambda data: data.update(own_goals=[]),
    "plan_efforts_listed": _without("effort"),
    "plan_efforts_owned": lambda data: data["efforts"][0].update(responsible=""),
    "plan_other_measures_stated": lambda data: (
        _without("other")(data),
        data.update(no_other_measures=False),
    ),
    "plan_follow_up_ahead": lambda data: data.update(follow_up_on=None),
    "plan_child_view_or_reason": lambda data: data.update(child_view="", child_view_missing_reason=""),
    "huvudansvar_assigned": None,
}


def complete_plan(cast, at) -> dict:
    """Every item a plan needs, owned by the cast's organisations."""
    return {
        "own_goals": [{"uid": None, "text": "Det är viktigt för mig att gå i skolan."}],
        "professional_goals": [],
        "efforts": [
            {
                "kind": "effort",
                "what": "Samtalsstöd",
                "organisation_id": cast.org_ids["initiator"],
                "responsible": "Anna Ek",
            },
            {
                "kind": "effort",
                "what": "Boendestöd",
                "organisation_id": cast.org_ids["huvudansvarig"],
                "responsible": "Omar Lind",
            },
            {"kind": "own", "what": "Promenader", "actor": "Personen"},
            {"kind": "other", "what": "Arbetsträning", "actor": "Arbetsförmedlingen"},
        ],
        "follow_up_on": today(at) + timedelta(days=90),
        "child_view": "Vill vara med på mötena.",
        "child_view_missing_reason": "",
    }


def plan_case(session, cast, workflow, state, at, *, lacking: str | None = None, follow_up_days: int = 90):
    """A case of a child (under 18) at state, with a saved plan lacking the item `lacking` checks."""
    case = walk_to(session, cast, workflow, state)
    person = session.get(Person, case.person_id)
    person.birth_date = today(at) - timedelta(days=15 * 365)
    session.add(person)
    session.commit()
    data = complete_plan(cast, at)
    data["follow_up_on"] = today(at) + timedelta(days=follow_up_days)
    # Confirmed as a scripted caller may: a weekend day or a holiday is otherwise refused until confirmed.
    data["confirmed_follow_up_day"] = data["follow_up_on"]
    if lacking is not None and BREAKERS[lacking] is not None:
        BREAKERS[lacking](data)
    plan = find_plan(session, case)
    with unit_of_work(session):
        plan = save_plan(
            session, case, None, data, expected_row_version=plan.row_version if plan else 0, now=at
        )
        if lacking == "huvudansvar_assigned":
            for participant in session.exec(select(Participant).where(Participant.case_id == case.id)).all():
                participant.role = (
                    "initiator" if participant.organisation_id == cast.org_ids["initiator"] else "participant"
                )
                session.add(participant)
        else:
            give_first_huvudansvar_unclaimed(
                session, case, None, organisation_id=cast.org_ids["huvudansvarig"], now=at
            )
    return case, plan.row_version


def test_every_condition_of_the_plan_steps_is_a_plan_item_with_a_breaker():
    conditions = {name for p in PLAN_STEPS for name in p.values[2].conditions}
    assert conditions - NOT_PLAN_ITEMS <= set(BREAKERS), sorted(conditions - NOT_PLAN_ITEMS - set(BREAKERS))
    assert PLAN_STEPS, "no workflow file has a plan step"


@pytest.mark.parametrize(("workflow", "state", "transition"), PLAN_STEPS)
def test_the_complete_plan_passes_every_plan_step(db_session, cast, workflow, state, transition):
    at = NOW + timedelta(hours=1)
    case, row_version = plan_case(db_session, cast, workflow, state, at)
    fire(
        db_session,
        case,
        transition.trigger,
        "initiator",
        cast,
        now=at,
        data={"plan_row_version": row_version},
    )
    assert case.state == transition.dest
    assert to_local(case.follow_up_on).date() == today(at) + timedelta(days=90)


def _refuses_without(guard: str):
    """Parameters: each plan step naming guard."""
    return pytest.mark.parametrize(
        ("workflow", "state", "transition"), [p for p in PLAN_STEPS if guard in p.values[2].conditions]
    )


def _assert_plan_refused(db_session, cast, workflow, state, transition, guard):
    at = NOW + timedelta(hours=1)
    case, row_version = plan_case(db_session, cast, workflow, state, at, lacking=guard)
    assert_refused(
        db_session,
        case,
        transition.trigger,
        cast,
        guard=guard,
        now=at,
        data={"plan_row_version": row_version},
    )
    assert db_session.get(SipCase, case.id).state == state


@_refuses_without("huvudansvar_assigned")
def test_refuses_huvudansvar_assigned_when_no_organisation_has_it(
    db_session, cast, workflow, state, transition
):
    _assert_plan_refused(db_session, cast, workflow, state, transition, "huvudansvar_assigned")


@_refuses_without("plan_own_goals_recorded")
def test_refuses_plan_own_goals_recorded_without_the_persons_goals(
    db_session, cast, workflow, state, transition
):
    _assert_plan_refused(db_session, cast, workflow, state, transition, "plan_own_goals_recorded")


@_refuses_without("plan_efforts_listed")
def test_refuses_plan_efforts_listed_without_an_effort(db_session, cast, workflow, state, transition):
    _assert_plan_refused(db_session, cast, workflow, state, transition, "plan_efforts_listed")


@_refuses_without("plan_efforts_owned")
def test_refuses_plan_efforts_owned_with_an_effort_nobody_is_named_for(
    db_session, cast, workflow, state, transition
):
    _assert_plan_refused(db_session, cast, workflow, state, transition, "plan_efforts_owned")


@_refuses_without("plan_other_measures_stated")
def test_refuses_plan_other_measures_stated_when_neither_listed_nor_none(
    db_session, cast, workflow, state, transition
):
    _assert_plan_refused(db_session, cast, workflow, state, transition, "plan_other_measures_stated")


@_refuses_without("plan_follow_up_ahead")
def test_refuses_plan_follow_up_ahead_without_a_date(db_session, cast, workflow, state, transition):
    _assert_plan_refused(db_session, cast, workflow, state, transition, "plan_follow_up_ahead")


@_refuses_without("plan_follow_up_ahead")
def test_refuses_plan_follow_up_ahead_when_the_date_has_passed(db_session, cast, workflow, state, transition):
    at = NOW + timedelta(hours=1)
    case, row_version = plan_case(db_session, cast, workflow, state, at, follow_up_days=1)
    # Two days later the follow-up day has passed, while the consent is still valid.
    later = at + timedelta(days=2)
    assert_refused(
        db_session,
        case,
        transition.trigger,
        cast,
        guard="plan_follow_up_ahead",
        now=later,
        data={"plan_row_version": row_version},
    )


@_refuses_without("plan_child_view_or_reason")
def test_refuses_plan_child_view_or_reason_for_a_child_without_either(
    db_session, cast, workflow, state, transition
):
    _assert_plan_refused(db_session, cast, workflow, state, transition, "plan_child_view_or_reason")
