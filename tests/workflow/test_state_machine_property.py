"""Random steps on one case of a random workflow keep the invariants the workflow files promise.

Hypothesis fires triggers (allowed now or not) by random actors (the initiator, a participating
organisation, an organisation not taking part) with random input (valid scripted input, nothing, or
scripted input with one field spoilt) at random later times, and checks after every step:

- the case's state is a state of its workflow;
- it changed only along a transition the file defines from the previous state, by a party it lists;
- a refused step changed nothing at all (every table compared), and was refused for the right reason;
- a successful step wrote exactly one TransitionLog row and bumped the version by one, and every guard
  the file names for it holds afterwards, checked independently of the guard code (GUARD_HELD);
- no state that needs a consent (every path to it records one) is reached without a given consent;
- once consent is withdrawn the case is final, every consent is marked withdrawn, and nothing moves it.

The database fixtures are function-scoped, so the machine uses the session app and empties the tables
itself before and after each example.
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
    case_row,
    consent_states,
    expected_roles,
    make_cast,
    recorded_writes,
    snapshot,
    start_case,
    today,
)
from hypothesis import event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlmodel import Session, select
from support import empty_tables

from sipflow.cases import services
from sipflow.cases.errors import PartyNotAllowed, TransitionNotAllowed
from sipflow.cases.models import Participant, SipCase, TransitionLog
from sipflow.cases.scripted import scripted_input
from sipflow.consent.models import Consent, ConsentOrganisation
from sipflow.db import unit_of_work
from sipflow.errors import UserError
from sipflow.people.models import Organisation, Person
from sipflow.plans.models import Plan, PlanEffort, PlanGoal

ACTORS = (
    "initiator",
    "huvudansvarig",
    "outsider",
)  # the initiator, a participating organisation, an outsider
EVERY_TRIGGER = sorted({t for w in WORKFLOWS for t in w.triggers} | {UNKNOWN_TRIGGER})
PARTICIPANTS = [(), ("huvudansvarig",), ("huvudansvarig", "participant")]

# One field of the scripted input replaced by a value of the right type that may well be wrong. Values
# that depend on the case (times, organisations, participants) are resolved when the step runs.
_TEXT = st.sampled_from(["", "   ", "Ja", "Nej tack"])
SPOILERS = {
    "reason": _TEXT,
    "given_by": st.sampled_from(["person", "guardian", "legal_representative", "nobody", ""]),
    "form": st.sampled_from(["oral", "written", "telepathy"]),
    "valid_until": st.integers(-30, 30).map(lambda d: ("day", d)),
    "organisation_ids": st.lists(st.sampled_from([*PERSONAS, "unknown"]), max_size=3).map(
        lambda p: ("orgs", p)
    ),
    "questions": _TEXT,
    "child_view": st.one_of(st.none(), _TEXT),
    "sent_at": st.integers(-3000, 3000).map(lambda m: ("minutes", m)),
    "meeting_starts_at": st.one_of(st.none(), st.integers(-3000, 3000).map(lambda m: ("minutes", m))),
    "mode": st.sampled_from(["on_site", "video", "mixed", "smoke signals"]),
    "held_at": st.one_of(st.none(), st.integers(-3000, 3000).map(lambda m: ("minutes", m))),
    "attendance": st.sampled_from(["nobody", "everyone-absent", "a-stranger", "odd-mode"]).map(
        lambda a: ("att", a)
    ),
    "decisions": st.lists(
        st.fixed_dictionaries(
            {
                "text": _TEXT,
                "owner": _TEXT,
                "due_on": st.one_of(st.none(), st.integers(-5, 60).map(lambda d: ("day", d))),
            }
        ),
        max_size=2,
    ),
    "no_change_reason": _TEXT,
    "plan_row_version": st.one_of(st.none(), st.integers(-1, 5), st.just("1")),
    "own_goals": st.one_of(st.none(), _TEXT, st.just("Att få bo kvar\nAtt arbeta")),
}
PAYLOADS = st.one_of(
    st.just(("scripted",)),
    st.just(("scripted",)),
    st.just(("empty",)),
    st.tuples(
        st.just("spoilt"),
        st.sampled_from(sorted(SPOILERS)).flatmap(lambda k: st.tuples(st.just(k), SPOILERS[k])),
    ),
)


def _active_consents(session, case_id, now):
    consents = session.exec(
        select(Consent).where(
            Consent.case_id == case_id, Consent.decision == "given", Consent.withdrawn_at.is_(None)
        )
    ).all()
    return [c for c in consents if c.valid_until is None or c.valid_until >= today(now)]


def _organisations(session, case_id):
    return session.exec(
        select(Organisation)
        .join(Participant, Participant.organisation_id == Organisation.id)
        .where(Participant.case_id == case_id, Participant.removed_at.is_(None))
    ).all()


def _seeing(session, case_id, now):
    """The organisations taking part that see the SIP: the initiator, and those a consent in force names."""
    covered = set(
        session.exec(
            select(ConsentOrganisation.organisation_id).where(
                ConsentOrganisation.consent_id.in_([c.id for c in _active_consents(session, case_id, now)])
            )
        ).all()
    )
    initiator = session.get(SipCase, case_id).initiating_organisation_id
    return {o.id for o in _organisations(session, case_id) if o.id == initiator or o.id in covered}


def _guardians(session, case_id):
    return session.exec(
        select(Participant).where(Participant.case_id == case_id, Participant.kind == "guardian")
    ).all()


def _huvudansvariga(session, case_id):
    return session.exec(
        select(Participant).where(Participant.case_id == case_id, Participant.role == "huvudansvarig")
    ).all()


# What each guard promises, checked on what the successful step left behind, written independently of
# the guard functions: (session, case id, the step's log row, the step's time) -> holds.
GUARD_HELD = {
    "consent_valid": lambda s, c, log, now: bool(_active_consents(s, c, now)),
    # From 18 the person consents themselves: the guardians' consent is asked no more.
    "guardians_consented": lambda s, c, log, now: (
        _of_age(s, c, now)
        or len([x for x in _active_consents(s, c, now) if x.given_by == "guardian"])
        >= max(1, len(_guardians(s, c)))
    ),
    # Two organisations taking part can see the SIP: the initiator, and those the consent in force covers.
    "two_organisations": lambda s, c, log, now: len(_seeing(s, c, now)) >= 2,
    # A school takes part and can see the SIP (the consent in force covers it).
    "school_participates": lambda s, c, log, now: any(
        o.kind in ("school", "friskola") and o.id in _seeing(s, c, now) for o in _organisations(s, c)
    ),
    "child_view_recorded": lambda s, c, log, now: bool((s.get(SipCase, c).child_view or "").strip()),
    # A meeting's outcome is what was recorded: a decision in the log, or a reason for no change.
    "meeting_outcome_recorded": lambda s, c, log, now: bool(
        log.details.get("decisions") or (log.details.get("no_change_reason") or "").strip()
    ),
    # One organisation holds it, and it is a huvudman: the region or the municipality.
    "huvudansvar_assigned": lambda s, c, log, now: (
        [
            s.get(Organisation, p.organisation_id).kind in ("region", "municipality")
            for p in _huvudansvariga(s, c)
        ]
        == [True]
    ),
    # The plan's items, read from its rows; the follow-up day is the one the step copied to the case.
    "plan_own_goals_recorded": lambda s, c, log, now: any(
        g.kind == "own" for g in _plan_rows(s, c, PlanGoal)
    ),
    "plan_efforts_listed": lambda s, c, log, now: bool(_live_efforts(s, c, "effort")),
    "plan_efforts_owned": lambda s, c, log, now: all(
        e.organisation_id and (e.responsible or "").strip() for e in _live_efforts(s, c, "effort")
    ),
    "plan_other_measures_stated": lambda s, c, log, now: (
        _plan(s, c).no_other_measures or bool(_live_efforts(s, c, "other"))
    ),
    "plan_follow_up_ahead": lambda s, c, log, now: (s.get(SipCase, c).follow_up_on or now) > now,
    "plan_child_view_or_reason": lambda s, c, log, now: (
        _of_age(s, c, now)
        or bool((s.get(SipCase, c).child_view or "").strip())
        or bool((_plan(s, c).child_view_missing_reason or "").strip())
    ),
}


def _plan(session, case_id) -> Plan:
    return session.exec(select(Plan).where(Plan.case_id == case_id)).one()


def _plan_rows(session, case_id, model):
    return session.exec(select(model).where(model.plan_id == _plan(session, case_id).id)).all()


def _live_efforts(session, case_id, kind):
    return [e for e in _plan_rows(session, case_id, PlanEffort) if e.kind == kind and e.status != "cancelled"]


def _of_age(session, case_id, now) -> bool:
    """18 or older at now (no birth date: not a child), counted in whole years."""
    born = session.get(Person, session.get(SipCase, case_id).person_id).birth_date
    if born is None:
        return True
    day = today(now)
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day)) >= 18


class CaseMachine(RuleBasedStateMachine):
    """One case of one workflow, driven through the service layer as a web request would."""

    app = None  # set by the test: the session app

    @initialize(workflow=st.sampled_from(WORKFLOWS), participants=st.sampled_from(PARTICIPANTS))
    def start(self, workflow, participants):
        self.engine = self.app.extensions["sipflow.engine"]
        empty_tables(self.engine)
        self.request = self.app.test_request_context()
        self.request.push()
        self.session = Session(self.engine, expire_on_commit=False)
        self.cast = make_cast(self.session, self.app.config["PNR_HASH_KEY"])
        self.workflow = workflow
        self.participants = participants
        self.needs_consent = consent_states(workflow)
        self.case = start_case(self.session, self.cast, workflow, participants=participants)
        self.case_id = self.case.id
        self.row = case_row(self.session, self.case_id)  # (state, version, log rows) after the last step
        self.now = NOW
        self.holder: str | None = None  # the persona whose organisation has huvudansvar
        self.withdrawn = False

    def teardown(self):
        if hasattr(self, "session"):
            self.session.close()
            self.request.pop()
            empty_tables(self.engine)

    # -- steps ----------------------------------------------------------------------------------------

    def _forward(self) -> list[str]:
        return [
            t.trigger
            for t in self.workflow.transitions_from(self.row[0])
            if not self.workflow.is_final(t.dest)
        ]

    @precondition(lambda self: self._forward())
    @rule(
        data=st.data(),
        actor=st.sampled_from(ACTORS),
        payload=PAYLOADS,
        minutes=st.integers(1, 60 * 24 * 30),
    )
    def advance(self, data, actor, payload, minutes):
        """A trigger the file defines from the current state into an active state, so cases get deep."""
        self._step(data.draw(st.sampled_from(self._forward()), label="trigger"), actor, payload, minutes)

    @rule(
        trigger=st.sampled_from(EVERY_TRIGGER),
        actor=st.sampled_from(ACTORS),
        payload=PAYLOADS,
        minutes=st.integers(1, 60 * 24 * 30),
    )
    def fire_any_trigger(self, trigger, actor, payload, minutes):
        """Any trigger of any workflow, or one that no workflow knows."""
        self._step(trigger, actor, payload, minutes)

    def _input(self, case: SipCase, trigger: str, payload: tuple) -> dict:
        transition = self.workflow.transition(case.state, trigger)
        if payload[0] == "empty":
            return {}
        data = scripted_input(self.session, case, transition.form if transition else "none", self.now)
        if payload[0] == "spoilt":
            field, value = payload[1]
            data[field] = self._resolve(case, value)
        return data

    def _resolve(self, case: SipCase, value):
        if isinstance(value, list):
            return [{k: self._resolve(case, v) for k, v in item.items()} for item in value]
        if not isinstance(value, tuple):
            return value
        kind, arg = value
        if kind == "minutes":
            return self.now + timedelta(minutes=arg)
        if kind == "day":
            return today(self.now) + timedelta(days=arg)
        if kind == "org":
            return self.cast.org_ids.get(arg, 999_999)
        if kind == "orgs":
            return [self.cast.org_ids.get(p, 999_999) for p in arg]
        participant_ids = scripted_input(self.session, case, "meeting_outcome", self.now)["attendance"]
        return {
            "nobody": {},
            "everyone-absent": dict.fromkeys(participant_ids, "absent"),
            "a-stranger": {999_999: "video"},
            "odd-mode": dict.fromkeys(participant_ids, "telepathic"),
        }[arg]

    def _step(self, trigger: str, actor: str, payload: tuple, minutes: int) -> None:
        self.now += timedelta(minutes=minutes)
        session = self.session
        case = session.get(SipCase, self.case_id)
        state, version, logs = self.row
        assert case_row(session, self.case_id) == self.row
        session.commit()  # end the read transaction, so the snapshot below sees what others see
        transition = self.workflow.transition(state, trigger)
        roles = (
            expected_roles(actor, self.holder) if actor in (*self.participants, "initiator") else frozenset()
        )
        data = self._input(case, trigger, payload)
        actor_user = self.cast.user(session, actor)
        # A step the file refuses outright must not even start to write; any other step may write and
        # roll back, so the whole database is compared instead (the snapshot is the expensive check).
        refused_outright = transition is None or not roles & set(transition.parties)
        before = None
        if not refused_outright:
            with self.engine.connect() as connection:
                before = snapshot(connection)
        try:
            with unit_of_work(session), recorded_writes(session) as writes:
                log = services.fire_transition(
                    session,
                    REGISTRY,
                    actor_user,
                    case,
                    trigger,
                    expected_version=version,
                    now=self.now,
                    data=data,
                )
        except UserError as refused:
            if refused_outright:
                assert writes == [], f"{type(refused).__name__} after writing {writes}"
            else:
                with self.engine.connect() as connection:
                    assert snapshot(connection) == before, f"{type(refused).__name__} left changes behind"
            assert case_row(session, self.case_id) == self.row
            event(f"refused: {type(refused).__name__}")
            if transition is None:
                assert isinstance(refused, TransitionNotAllowed), repr(refused)
            elif not roles & set(transition.parties):
                assert isinstance(refused, PartyNotAllowed), repr(refused)
            else:
                assert not isinstance(refused, (TransitionNotAllowed, PartyNotAllowed)), repr(refused)
            return

        assert not self.withdrawn, "a withdrawn case moved"
        assert transition is not None, f"{trigger} succeeded from {state}, where the file does not define it"
        assert roles & set(transition.parties), f"{actor} ({sorted(roles)}) fired {trigger}"
        self.row = case_row(session, self.case_id)
        assert self.row == (transition.dest, version + 1, logs + 1)
        event(f"reached {transition.dest}")
        last = session.exec(
            select(TransitionLog)
            .where(TransitionLog.case_id == self.case_id)
            .order_by(TransitionLog.id.desc())
        ).first()
        # The step returns its log row as written (its id is not read back): the last row is that one.
        assert (last.trigger, last.from_state, last.to_state, last.at, last.details) == (
            trigger,
            state,
            transition.dest,
            self.now,
            log.details,
        )
        for guard in transition.conditions:
            assert GUARD_HELD[guard](session, self.case_id, last, self.now), (
                f"{trigger} succeeded but {guard} fails"
            )
        if transition.form == "plan" and self.holder is None:
            # The scripted plan gives huvudansvar to the initiating organisation when nobody has it.
            self.holder = "initiator"
        if transition.withdraws_consent:
            self.withdrawn, self.withdrawn_state = True, transition.dest

    # -- invariants -----------------------------------------------------------------------------------

    @invariant()
    def state_belongs_to_the_workflow(self):
        assert self.row[0] in self.workflow.states

    @invariant()
    def consent_is_recorded_before_the_states_that_need_it(self):
        if self.row[0] in self.needs_consent:
            given = self.session.exec(
                select(Consent.id).where(Consent.case_id == self.case_id, Consent.decision == "given")
            ).all()
            assert given, f"{self.row[0]} reached without a consent"

    @invariant()
    def withdrawn_case_is_final_and_its_consents_withdrawn(self):
        if not self.withdrawn:
            return
        assert self.workflow.is_final(self.row[0])
        assert self.row[0] == self.withdrawn_state
        open_consents = self.session.exec(
            select(Consent.id).where(Consent.case_id == self.case_id, Consent.withdrawn_at.is_(None))
        ).all()
        assert open_consents == []


@pytest.mark.heavy
def test_random_steps_keep_the_workflow_invariants(session_app):
    CaseMachine.app = session_app
    run_state_machine_as_test(
        CaseMachine,
        settings=settings(max_examples=50, stateful_step_count=15, deadline=None),
    )


def test_every_guard_of_the_files_has_a_postcondition():
    used = {name for w in WORKFLOWS for t in w.transitions for name in t.conditions}
    assert used <= set(GUARD_HELD)
