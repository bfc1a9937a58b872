"""A SIP with a plan for the person-view tests: organisations, the person, a närstående, frozen versions.

Versions are written directly (content from `plan_content`, a stand-in PDF), since freezing is another
part's work; everything else goes through the builders in `support` and the services.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date

from sqlmodel import Session, select
from support import fire, new_case, new_person, new_unit, new_user

from sipflow.cases import services
from sipflow.cases.models import Participant, SipCase
from sipflow.db import unit_of_work
from sipflow.people.models import Person, Unit, User
from sipflow.plans.content import plan_content
from sipflow.plans.models import PlanEffort, PlanGoal, PlanVersion
from sipflow.plans.services import working_plan

PDF = b"%PDF-test"
PERSON_EMAIL = "testa.person@example.se"
RELATIVE_EMAIL = "eva.andersson@example.se"


@dataclass
class Org:
    """An organisation of the SIP: its unit, one staff user and its participant row."""

    unit: Unit
    user: User
    participant: Participant | None = None


@dataclass
class World:
    """A SIP in progress for one person with its parties."""

    case: SipCase
    person: Person
    orgs: list[Org]
    person_row: Participant
    relative: Participant
    outsider: Org
    extra: dict = field(default_factory=dict)

    @property
    def region(self) -> Org:
        return self.orgs[0]

    @property
    def municipality(self) -> Org:
        return self.orgs[1]


def build_world(
    session: Session,
    app,
    registry,
    *,
    now,
    kinds=("region", "municipality"),
    person: Person | None = None,
    birth: date = date(1990, 5, 17),
    workflow: str = "sip",
    consent: bool = True,
) -> World:
    """A SIP started by the first organisation, the others taking part, consent given, huvudansvar set."""
    orgs = []
    for kind in kinds:
        unit = new_unit(session, kind)
        orgs.append(Org(unit, new_user(session, unit)))
    outsider_unit = new_unit(session, "other")
    outsider = Org(outsider_unit, new_user(session, outsider_unit))
    if person is None:
        person = new_person(session, app.config["PNR_HASH_KEY"], now=now, birth=birth)
    case = new_case(
        session,
        registry,
        orgs[0].user,
        workflow=workflow,
        person=person,
        unit_ids=[o.unit.id for o in orgs[1:]],
        now=now,
    )
    session.commit()
    with unit_of_work(session):
        relative = services.add_private_participant(
            session,
            registry,
            case,
            kind="narstaende",
            name="Eva Andersson",
            relation="syster",
            email=RELATIVE_EMAIL,
            phone=None,
            now=now,
        )
    rows = session.exec(select(Participant).where(Participant.case_id == case.id)).all()
    by_unit = {p.unit_id: p for p in rows if p.kind == "organisation"}
    for org in orgs:
        org.participant = by_unit[org.unit.id]
    person_row = next(p for p in rows if p.kind == "person")
    person_row.email = PERSON_EMAIL
    orgs[0].participant.role = "huvudansvarig"
    session.add_all([person_row, orgs[0].participant])
    session.commit()
    if consent:
        fire(session, registry, orgs[0].user, case, "give_consent", now=now)
    return World(case, person, orgs, person_row, relative, outsider)


def add_guardian(
    session: Session,
    registry,
    world: World,
    *,
    now,
    name: str = "Maria Förälder",
    email: str = "maria@example.se",
) -> Participant:
    """A guardian of the person taking part in the world's SIP, with an e-mail address (for their link)."""
    with unit_of_work(session):
        return services.add_private_participant(
            session, registry, world.case, kind="guardian", name=name, relation=None, email=email, phone=None,
            now=now,
        )  # fmt: skip


def add_effort(session: Session, world: World, org: Org, what: str, *, responsible: str = "Kim Handläggare"):
    """An effort owned by org in the case's working plan."""
    plan = working_plan(session, world.case)
    count = len(session.exec(select(PlanEffort.id).where(PlanEffort.plan_id == plan.id)).all())
    effort = PlanEffort(
        plan_id=plan.id,
        what=what,
        organisation_id=org.unit.organisation_id,
        unit_id=org.unit.id,
        responsible=responsible,
        starts_on=date(2026, 11, 10),
        ends_on=date(2027, 3, 1),
        position=count,
    )
    session.add(effort)
    session.flush()
    return effort


def add_own_goal(session: Session, world: World, text: str) -> PlanGoal:
    """One of the person's own goals, in their words."""
    plan = working_plan(session, world.case)
    goal = PlanGoal(plan_id=plan.id, kind="own", text=text)
    session.add(goal)
    session.flush()
    return goal


def freeze(session: Session, world: World, *, now, trigger: str = "establish_plan") -> PlanVersion:
    """The next version of the case's plan, written as freezing would (content, a stand-in PDF, checksum)."""
    plan = working_plan(session, world.case)
    numbers = session.exec(select(PlanVersion.number).where(PlanVersion.case_id == world.case.id)).all()
    version = PlanVersion(
        case_id=world.case.id,
        number=max(numbers, default=0) + 1,
        trigger=trigger,
        established_at=now,
        content=plan_content(session, world.case, plan),
        pdf=PDF,
        pdf_sha256=hashlib.sha256(PDF).hexdigest(),
    )
    session.add(version)
    session.commit()
    return version


def log_out(client) -> None:
    """Log out through the header's form, so the next request is the person's, with no login."""
    from webkit import csrf_token, text_of

    response = client.post("/logout", data={"csrf_token": csrf_token(text_of(client.get("/")))})
    assert response.status_code in (302, 303)


def add_relatives(session: Session, registry, case: SipCase, count: int, now) -> list[Participant]:
    """count närstående, each with an address of their own, added to case in one unit of work."""
    with unit_of_work(session):
        return [
            services.add_private_participant(
                session,
                registry,
                case,
                kind="narstaende",
                name=f"Närstående {n}",
                relation="vän",
                email=f"narstaende{n}@example.se",
                phone=None,
                now=now,
            )
            for n in range(count)
        ]
