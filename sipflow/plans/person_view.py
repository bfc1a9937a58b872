"""The person's own view: all their active plans on one page, each with every effort, owner and contact.

One page per person, so nobody is passed between agencies: every active SIP of the person (not in a final
state, with a working plan or an established version), showing the newest established version's content
(`plans.content` shape, its huvudansvar too) or saying that no plan is established yet, and the one
organisation with huvudansvar now where it differs. Staff see the cases `security.access` lets them see;
the person (through their personal link) sees all of their own, a närstående or guardian (through theirs)
only the SIP the link was sent from. The caller logs each case shown in the access log.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, func
from sqlalchemy.orm import defer
from sqlmodel import Session, select

from sipflow.cases.models import Participant, SipCase
from sipflow.people.models import Organisation, Person, User
from sipflow.plans.approvals import PERSON, PartyApproval, approval_status
from sipflow.plans.models import Plan, PlanVersion
from sipflow.security.access import visible_cases_clause
from sipflow.workflow.definition import HUVUDANSVARIG

# A person has a handful of SIPs; the page shows at most this many, newest first.
CASES_LIMIT = 50


@dataclass
class PlanCard:
    """One active SIP of the person as their page shows it."""

    case: SipCase
    workflow_label: str
    version: PlanVersion | None
    content: dict | None
    # The organisation with huvudansvar: the shown version's (its content), before a plan is established
    # the one holding it now (the participant role).
    huvudansvar: str | None
    # The organisation holding it now when that is another than the version's (handed over since).
    huvudansvar_now: str | None = None
    approvals: list[PartyApproval] = field(default_factory=list)

    @property
    def person_party(self) -> PartyApproval | None:
        """The person's own row of the approvals."""
        return next((p for p in self.approvals if p.kind == "person"), None)


@dataclass
class PersonPage:
    """The person and their active plans."""

    person: Person
    masked_identifier: str
    plans: list[PlanCard]


def _is_active(registry, case: SipCase) -> bool:
    try:
        return not registry.get(case.workflow_name, case.workflow_version).is_final(case.state)
    except KeyError:
        return False


def _label(registry, case: SipCase, locale: str) -> str:
    try:
        workflow = registry.get(case.workflow_name, case.workflow_version)
    except KeyError:
        return case.workflow_name
    return workflow.label.get(locale) or workflow.label.get("sv") or case.workflow_name


def active_cases(
    session: Session, registry, person_id: int, *, viewer: User | None = None, now: datetime
) -> list[SipCase]:
    """The person's SIPs not in a final state (those viewer may see, when a viewer is given), newest first."""
    query = select(SipCase).where(SipCase.person_id == person_id)
    if viewer is not None:
        query = query.where(visible_cases_clause(viewer, now=now))
    cases = session.exec(
        query.order_by(SipCase.requested_at.desc(), SipCase.id.desc()).limit(CASES_LIMIT)
    ).all()
    return [case for case in cases if _is_active(registry, case)]


def link_cases(session: Session, registry, link, recipient: Participant, *, now: datetime) -> list[SipCase]:
    """The SIPs a personal link shows: to the person all their active ones; to a närstående or a guardian
    only the SIP the link was sent from (the one they take part in), while it is active."""
    if recipient.kind == PERSON:
        return active_cases(session, registry, link.person_id, now=now)
    case = session.get(SipCase, link.case_id)
    return [case] if _is_active(registry, case) else []


def person_page(
    session: Session, registry, person: Person, cases: list[SipCase], *, locale: str
) -> PersonPage:
    """The page of person for cases: those with a working plan or a version, each with its newest version."""
    ids = [case.id for case in cases]
    newest = (
        select(PlanVersion.case_id, func.max(PlanVersion.number).label("number"))
        .where(PlanVersion.case_id.in_(ids))
        .group_by(PlanVersion.case_id)
        .subquery()
    )
    versions = {
        version.case_id: version
        for version in session.exec(
            select(PlanVersion)
            .options(defer(PlanVersion.pdf))
            .join(
                newest, and_(PlanVersion.case_id == newest.c.case_id, PlanVersion.number == newest.c.number)
            )
        ).all()
    }
    with_plan = set(session.exec(select(Plan.case_id).where(Plan.case_id.in_(ids))).all())
    huvudansvar = dict(
        session.exec(
            select(Participant.case_id, Organisation.name)
            .join(Organisation, Organisation.id == Participant.organisation_id)
            .where(Participant.case_id.in_(ids), Participant.role == HUVUDANSVARIG, Participant.active)
        ).all()
    )
    cards = []
    for case in cases:
        version = versions.get(case.id)
        if version is None and case.id not in with_plan:
            continue
        # An established version shows its own huvudansvar (as its PDF does), beside its own contact.
        current = huvudansvar.get(case.id)
        holder = (
            (version.content.get("huvudansvar") or {}).get("organisation") if version is not None else current
        )
        cards.append(
            PlanCard(
                case=case,
                workflow_label=_label(registry, case, locale),
                version=version,
                content=version.content if version is not None else None,
                huvudansvar=holder,
                huvudansvar_now=current if current != holder else None,
                approvals=approval_status(session, case, version) if version is not None else [],
            )
        )
    return PersonPage(person=person, masked_identifier=person.masked_identifier(), plans=cards)
