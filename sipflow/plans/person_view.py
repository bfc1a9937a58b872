"""The person's own view: all their active plans on one page, each with every effort, owner and contact.

One page per person, so nobody is passed between agencies: every active SIP of the person (not in a final
state, with a working plan or an established version; on a personal link's page every one, so a link sent
before the plan is begun shows its SIP), showing the newest established version as its PDF
does (`pdf.shown_version`: its huvudansvar, a child's own view) or saying that no plan is established yet,
and the one organisation with huvudansvar now where it differs. Staff see the cases `security.access` lets
them see; the person (through their personal link) sees all of their own, a närstående or guardian (through
theirs) only the SIP the link was sent from. The caller logs each case shown in the access log.

A link's page also shows the SIP it was sent from once that SIP is closed (ended by a transition that
`closes` it, not withdrawn or cancelled): the day it was closed and its last established version, the
plan document the person keeps. Never the reason it was closed: staff wrote it for the case, and it may
name health or family matters the person's page, and the närstående or guardian reading it, are not
meant to be told that way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, func
from sqlalchemy.orm import defer
from sqlmodel import Session, select

from sipflow.cases.models import Participant, SipCase, TransitionLog
from sipflow.clock import stored_utc
from sipflow.people.models import Organisation, Person, User
from sipflow.plans.approvals import PERSON, PartyApproval, approval_status, person_approved_before
from sipflow.plans.compare import Comparison, compare_versions
from sipflow.plans.models import PersonalLink, Plan, PlanVersion
from sipflow.plans.pdf import ShownVersion, pdf_filename, shown_version
from sipflow.plans.versions import is_scrubbed, version_pdf
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
    # What the version shows, as its PDF (None: no version, or retention removed it).
    shown: ShownVersion | None = None
    # When the SIP was closed (a link's page shows the one it was sent from after it closed); None: active.
    closed_at: datetime | None = None
    # The newest earlier version the person approved (approvals.person_approved_before), when the shown one
    # is a revision of a plan they approved.
    person_approved_before: int | None = None
    # What changed from that version to the shown one (compare.compare_versions), so the person asked to
    # approve again reads what they are asked about; None when there is no such version or it is scrubbed.
    changes_since_approved: Comparison | None = None

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


def is_closed(registry, case: SipCase) -> bool:
    """Whether case has ended by being closed: its state is where a transition that `closes` leads (not
    one the SIP ends in when consent is withdrawn or it was entered in error)."""
    try:
        workflow = registry.get(case.workflow_name, case.workflow_version)
    except KeyError:
        return False
    return workflow.is_final(case.state) and any(
        t.closes and t.dest == case.state for t in workflow.transitions
    )


def _closed_at(session: Session, cases: list[SipCase]) -> dict[int, datetime]:
    """When each case entered the state it is in: its last transition there (else its last change), as
    retention counts it."""
    if not cases:
        return {}
    entered = dict(
        session.exec(
            select(TransitionLog.case_id, func.max(TransitionLog.at))
            .join(SipCase, SipCase.id == TransitionLog.case_id)
            .where(TransitionLog.case_id.in_([c.id for c in cases]), TransitionLog.to_state == SipCase.state)
            .group_by(TransitionLog.case_id)
        ).all()
    )
    return {c.id: stored_utc(entered.get(c.id) or c.updated_at) for c in cases}


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


def link_cases(
    session: Session, registry, link: PersonalLink, recipient: Participant, *, now: datetime
) -> list[SipCase]:
    """The SIPs a personal link shows: to the person all their active ones; to a närstående or a guardian
    only the SIP the link was sent from (the one they take part in), while it is active. The SIP the link
    was sent from is shown once it is closed too (last), for as long as the link works: its last version."""
    if recipient.kind == PERSON:
        cases = active_cases(session, registry, link.person_id, now=now)
    else:
        cases = []
    own = session.get(SipCase, link.case_id)
    if own is not None and own not in cases and (_is_active(registry, own) or is_closed(registry, own)):
        cases.append(own)
    return cases


def link_has_ended(
    session: Session, registry, link: PersonalLink, recipient: Participant, *, now: datetime
) -> bool:
    """Whether a närstående's or guardian's link shows nothing any more: the SIP it was sent from ended
    without being closed (consent withdrawn or declined, entered in error). Its page would show only the
    person's name and personnummer to someone no consent lets read the SIP now. The person's own link keeps
    working: it shows their other SIPs."""
    return recipient.kind != PERSON and not link_cases(session, registry, link, recipient, now=now)


class VersionNotShown(Exception):
    """A version of the link's SIPs that its page no longer shows (a newer one established since)."""


@dataclass(frozen=True)
class LinkPdf:
    """A version's PDF as a link's page offers it: the file, its name, and the case it was read from."""

    case: SipCase
    filename: str
    data: bytes


def link_pdf(
    session: Session,
    registry,
    link: PersonalLink,
    recipient: Participant,
    version_id: int,
    *,
    large: bool,
    now: datetime,
) -> LinkPdf | None:
    """The PDF of version version_id (large: the person's large-type copy) when the link's page shows that
    version now: the newest of a SIP the link shows, not removed by retention. Named by case reference and
    version, never the person.

    Raises VersionNotShown for a version of a SIP the link shows or was sent from that its page does not
    show now (an older one, a SIP it shows no more); None for any other id (none such, another person's,
    a SIP the link is not for): one answer, so that no id is told apart from one that names nothing.
    """
    version = session.get(PlanVersion, version_id)
    if version is None:
        return None
    case = next(
        (c for c in link_cases(session, registry, link, recipient, now=now) if c.id == version.case_id), None
    )
    if case is None:
        if version.case_id == link.case_id:
            raise VersionNotShown
        return None
    newest = session.exec(select(func.max(PlanVersion.number)).where(PlanVersion.case_id == case.id)).one()
    data = version_pdf(session, version, large=large) if version.number == newest else None
    if data is None:
        raise VersionNotShown
    return LinkPdf(case=case, filename=pdf_filename(case.reference, version.number, large=large), data=data)


def _changes_since(session: Session, version: PlanVersion | None, number: int | None) -> Comparison | None:
    """What changed from version number of version's case (the one the person approved) to version."""
    if version is None or number is None:
        return None
    earlier = session.exec(
        select(PlanVersion)
        .options(defer(PlanVersion.pdf))
        .where(PlanVersion.case_id == version.case_id, PlanVersion.number == number)
    ).first()
    if earlier is None or is_scrubbed(earlier):
        return None
    return compare_versions(earlier.content, version.content)


def person_page(
    session: Session,
    registry,
    person: Person,
    cases: list[SipCase],
    *,
    locale: str,
    every_case: bool = False,
) -> PersonPage:
    """The page of person for cases: those with a working plan or a version, each with its newest version.

    every_case: each of cases, also one no plan is begun in yet (a personal link's page: a link sent while
    the SIP is prepared shows that SIP and that no plan is established yet, not a page with no SIP at all).
    """
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
    closed = _closed_at(session, [case for case in cases if not _is_active(registry, case)])
    cards = []
    for case in cases:
        version = versions.get(case.id)
        if version is not None and is_scrubbed(version):
            version = None  # retention removed the plan: only its number and date are left
        closed_at = closed.get(case.id)
        if version is None and case.id not in with_plan and closed_at is None and not every_case:
            continue
        # An established version shows its own huvudansvar (as its PDF does), beside its own contact.
        current = huvudansvar.get(case.id)
        holder = (
            (version.content.get("huvudansvar") or {}).get("organisation") if version is not None else current
        )
        approved_before = person_approved_before(session, version) if version is not None else None
        cards.append(
            PlanCard(
                case=case,
                workflow_label=_label(registry, case, locale),
                version=version,
                content=version.content if version is not None else None,
                huvudansvar=holder,
                # A closed SIP has no one coordinating it now: its version says who had huvudansvar.
                huvudansvar_now=current if current != holder and closed_at is None else None,
                approvals=approval_status(session, case, version) if version is not None else [],
                shown=shown_version(version.content) if version is not None else None,
                closed_at=closed_at,
                person_approved_before=approved_before,
                changes_since_approved=_changes_since(session, version, approved_before),
            )
        )
    return PersonPage(person=person, masked_identifier=person.masked_identifier(), plans=cards)
