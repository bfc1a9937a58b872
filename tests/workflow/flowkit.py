"""Helpers for the workflow tests: a cast of organisations, cases walked to any state, database snapshots.

Everything here is derived from the workflow files: the paths to each state, who may fire each step and
which states need a consent. Nothing names a state of a particular file.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import support
from sqlalchemy import func
from sqlalchemy.engine import Connection
from sqlmodel import Session, SQLModel, select
from support import KEPT_TABLES

import sipflow.models  # noqa: F401  (every table, for the snapshots)
from sipflow.areas import load_areas
from sipflow.cases.models import SipCase, TransitionLog
from sipflow.cases.scripted import scripted_input
from sipflow.config import PROJECT_ROOT
from sipflow.people.models import Person, User
from sipflow.plans.responsibility import give_first_huvudansvar_unclaimed
from sipflow.workflow.definition import TransitionDef, Workflow
from sipflow.workflow.engine import WorkflowRegistry

# The workflow files name guards, effects and inputs the areas register.
load_areas()

# The tests' fixed instant.
NOW = support.FIXED_NOW

REGISTRY = WorkflowRegistry.from_folder(PROJECT_ROOT / "workflows")
WORKFLOWS: list[Workflow] = [REGISTRY.latest(name) for name in REGISTRY.names()]

# Who acts in a case. Every cast has one organisation for each:
#   initiator      the region that starts the case (the `parties.region_user` of the shared fixtures)
#   huvudansvarig  a municipality: a participant until a plan gives it huvudansvar
#   participant    a school: a participant throughout
#   outsider       an agency that takes no part in the case
PERSONAS = ("initiator", "huvudansvarig", "participant", "outsider")
_ORGANISATION_KINDS = {
    "initiator": "region",
    "huvudansvarig": "municipality",
    "participant": "school",
    "outsider": "other",
}
UNKNOWN_TRIGGER = "no_such_trigger"
# The birth date of the cast's child: 12 years old on the tests' days.
CHILD_BIRTH = date(2014, 3, 1)


@dataclass(frozen=True)
class Cast:
    """The organisations, units and staff users of one set of personas, and one person to plan for."""

    org_ids: dict[str, int]
    unit_ids: dict[str, int]
    user_ids: dict[str, int]
    person_id: int
    # A child's SIP (a workflow file with childs_view) is for a child: a 12-year-old, whose guardians consent.
    child_id: int

    def user(self, session: Session, persona: str) -> User:
        """The persona's staff user, loaded in session."""
        return session.get(User, self.user_ids[persona])


def make_cast(session: Session, hash_key: str, *, now: datetime = NOW) -> Cast:
    """Create one organisation, unit and user per persona, and a person (the shared builders); commit."""
    org_ids, unit_ids, user_ids = {}, {}, {}
    for persona in PERSONAS:
        kind, name = _ORGANISATION_KINDS[persona], f"Enhet {persona}"
        unit = support.new_unit(session, kind, key=persona, unit_name=name)
        # Without an e-mail address, as the cast's users always were: no step queues mail to them.
        username = f"wf-{persona}-{{n}}"
        user = support.new_user(session, unit, username=username, display_name=persona, email=None)
        org_ids[persona], unit_ids[persona], user_ids[persona] = unit.organisation_id, unit.id, user.id
    person = support.new_person(session, hash_key, now=now)
    child = support.new_person(session, hash_key, now=now, birth=CHILD_BIRTH, given_name="Barn")
    session.commit()
    return Cast(org_ids, unit_ids, user_ids, person.id, child.id)


def expected_roles(persona: str, huvudansvar_holder: str | None) -> frozenset[str]:
    """The party roles the persona's organisation holds, by the rules of the SIP (not by asking the code)."""
    roles = set()
    if persona == "initiator":
        roles.add("initiator")
    elif persona in ("huvudansvarig", "participant"):
        roles.add("participant")
    if huvudansvar_holder == persona:
        roles.discard("participant")
        roles.add("huvudansvarig")
    return frozenset(roles)


def allowed_personas(transition: TransitionDef, huvudansvar_holder: str | None) -> list[str]:
    """The personas whose roles let them fire transition, initiator first."""
    parties = set(transition.parties)
    return [p for p in PERSONAS if expected_roles(p, huvudansvar_holder) & parties]


def shortest_paths(workflow: Workflow) -> dict[str, list[TransitionDef]]:
    """For every reachable state, the shortest list of transitions leading there from the initial state."""
    paths: dict[str, list[TransitionDef]] = {workflow.initial: []}
    queue = deque([workflow.initial])
    while queue:
        state = queue.popleft()
        for transition in workflow.transitions_from(state):
            if transition.dest not in paths:
                paths[transition.dest] = [*paths[state], transition]
                queue.append(transition.dest)
    return paths


def consent_states(workflow: Workflow) -> frozenset[str]:
    """States that no path from the initial state reaches without a transition that records a consent."""
    reached = {workflow.initial}
    queue = deque([workflow.initial])
    while queue:
        state = queue.popleft()
        for transition in workflow.transitions_from(state):
            if transition.form != "consent" and transition.dest not in reached:
                reached.add(transition.dest)
                queue.append(transition.dest)
    return frozenset(workflow.states) - reached


def huvudansvar_after(path: list[TransitionDef], holder: str = "huvudansvarig") -> str | None:
    """Who holds huvudansvar after path: the plan gives it to holder; before any plan nobody has it."""
    return holder if any(t.form == "plan" for t in path) else None


def valid_input(
    session: Session,
    case: SipCase,
    transition: TransitionDef,
    cast: Cast,
    now: datetime,
    *,
    huvudansvar_to: str = "huvudansvarig",
) -> dict:
    """Scripted input for transition; before a plan, huvudansvar goes to huvudansvar_to's organisation.

    The scripted plan gives huvudansvar to the initiator when nobody has it; giving it to another
    organisation lets the three party roles be held by three different organisations, so each one can
    be refused on its own.
    """
    if transition.form == "plan":
        # Huvudansvar is its own action now: given (logged) before the scripted plan, which then keeps it.
        give_first_huvudansvar_unclaimed(
            session, case, None, organisation_id=cast.org_ids[huvudansvar_to], now=now
        )
    return scripted_input(session, case, transition.form, now)


def start_case(
    session: Session,
    cast: Cast,
    workflow: Workflow,
    *,
    now: datetime = NOW,
    participants: tuple[str, ...] = ("huvudansvarig", "participant"),
    registry: WorkflowRegistry = REGISTRY,
) -> SipCase:
    """Start a case of workflow by the initiator with the given personas taking part; commit.

    A start date the workflow asks for (the discharge SIP's utskrivningsklar_at) lies two hours back.
    """
    asks_date = "utskrivningsklar_at" in workflow.start_dates
    case = support.new_case(
        session,
        registry,
        cast.user(session, "initiator"),
        workflow=workflow.name,
        person=session.get(Person, cast.child_id if workflow.childs_view else cast.person_id),
        unit_ids=[cast.unit_ids[p] for p in participants],
        now=now,
        utskrivningsklar_at=now - timedelta(hours=2) if asks_date else None,
    )
    session.commit()
    return case


def fire(
    session: Session,
    case: SipCase,
    trigger: str,
    persona_or_user,
    cast: Cast,
    *,
    now: datetime,
    data: dict | None = None,
    registry: WorkflowRegistry = REGISTRY,
) -> TransitionLog:
    """Fire trigger in one unit of work (commit, or roll back and re-raise); no data: the scripted input."""
    actor = cast.user(session, persona_or_user) if isinstance(persona_or_user, str) else persona_or_user
    return support.fire(session, registry, actor, case, trigger, now=now, data=data)


def walk_to(
    session: Session,
    cast: Cast,
    workflow: Workflow,
    state: str,
    *,
    now: datetime = NOW,
    participants: tuple[str, ...] = ("huvudansvarig", "participant"),
    registry: WorkflowRegistry = REGISTRY,
) -> SipCase:
    """Start a case and fire the shortest path to state, one minute and one unit of work per step.

    On a fresh `cast` (the fixture) with nothing else written, the walk's rows are copied the first time
    and inserted again after that (support.reused_layer): the same rows the walk would write.
    """

    def build() -> int:
        case = start_case(session, cast, workflow, now=now, participants=participants, registry=registry)
        path = shortest_paths(workflow)[state]
        for step, transition in enumerate(path, start=1):
            at = now + timedelta(minutes=step)
            persona = allowed_personas(transition, huvudansvar_after(path[: step - 1]))[0]
            data = valid_input(session, case, transition, cast, at)
            fire(session, case, transition.trigger, persona, cast, now=at, data=data, registry=registry)
        assert case.state == state, f"walked to {case.state}, wanted {state}"
        return case.id

    if registry is not REGISTRY:
        return session.get(SipCase, build())
    key = ("walk", workflow.name, workflow.version, state, now, participants)
    case = session.get(SipCase, support.reused_layer(session.get_bind(), key, build))
    assert case.state == state, f"walked to {case.state}, wanted {state}"
    return case


def snapshot(connection: Connection) -> dict[str, list[tuple]]:
    """Every row of every table but the reference data, in primary-key order."""
    tables = {}
    for table in SQLModel.metadata.sorted_tables:
        if table.name in KEPT_TABLES:
            continue
        rows = connection.execute(table.select().order_by(*table.primary_key.columns)).all()
        tables[table.name] = [tuple(row) for row in rows]
    return tables


@contextmanager
def recorded_writes(session: Session) -> Iterator[list[str]]:
    """Collect every statement that writes, sent on the session's connection inside the block.

    Cheaper than a snapshot and stricter: it sees a write even when a later statement undoes it, and a
    write PostgreSQL's folds carry in a WITH (support.is_write).
    """
    with support.statements(session.connection(), keep=support.is_write) as writes:
        yield writes


def case_row(session: Session, case_id: int) -> tuple[str, int, int]:
    """The stored (state, version, number of log rows) of a case, as the session's transaction sees it."""
    state, version = session.exec(select(SipCase.state, SipCase.version).where(SipCase.id == case_id)).one()
    logs = session.exec(
        select(func.count()).select_from(TransitionLog).where(TransitionLog.case_id == case_id)
    ).one()
    return state, version, logs


def today(now: datetime) -> date:
    """The Swedish calendar day at now."""
    from sipflow.clock import to_local

    return to_local(now).date()
