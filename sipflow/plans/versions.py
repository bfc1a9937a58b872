"""Plan versions: freezing the working plan when it is established or revised, and reading versions back.

A version's content is `plan_content` plus the version's own keys (`version`, `trigger`, `established_at`,
`established_by`, `approvals`); its PDF is rendered from that content alone and stored with its SHA-256,
so what was established and approved is reproduced exactly, and `pdf_matches` can prove it. The workflow
files name the effect `freeze_plan_version` on the transitions that establish or revise a plan.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Integer, and_, bindparam, func, insert, update
from sqlalchemy import case as sql_case
from sqlmodel import Session, select

from sipflow.cases.models import SipCase
from sipflow.cases.participants import active_participants
from sipflow.cases.services import actor_organisation_id, step_participants, step_seeing
from sipflow.clock import to_local
from sipflow.db import adopt_inserted, column_rows
from sipflow.people.models import Person, User
from sipflow.plans.approvals import approves_on_childs_behalf, version_organisations
from sipflow.plans.content import plan_content
from sipflow.plans.models import PlanApproval, PlanVersion
from sipflow.plans.pdf import LANGUAGE as PDF_LANGUAGE
from sipflow.plans.pdf import render_plan_pdf
from sipflow.plans.services import (
    LAST_VERSION_NUMBER,
    person_and_last_version_number,
    step_person,
    step_plan_items,
    working_plan,
)
from sipflow.retention.anonymise import register_case_scrubber
from sipflow.security import access
from sipflow.workflow.context import TransitionContext
from sipflow.workflow.definition import Workflow
from sipflow.workflow.registry import register_effect

# What retention keeps of a version's content: which version it was and when; the plan itself goes.
KEPT_CONTENT_KEYS = ("format", "case_reference", "version", "trigger", "established_at")
# A case gets a version per establishment and follow-up: a few in its life. Lists stop here all the same.
MAX_VERSIONS_LISTED = 100


@dataclass(frozen=True)
class VersionSummary:
    """One row of a case's version list: never the content or the PDF bytes."""

    id: int
    number: int
    trigger: str
    established_at: datetime
    established_by: str | None
    # Retention removed its content and PDF: the lists show no PDF links for it.
    scrubbed: bool = False
    # The organisations it was established with (approvals.version_organisations), read for the case
    # page's newest version only (case_page_versions); None: not read, or not kept. Not part of what the
    # summary is: the same version read by version_summaries is equal to it.
    parties: frozenset[int] | None = field(default=None, compare=False)


def _utc_text(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def _established_by(session: Session, actor: User | None, participants: list[dict]) -> dict | None:
    if actor is None:
        return None
    # The actor's organisation takes part (only parties may establish): its name is in the content already.
    organisation_id = actor_organisation_id(session, actor)
    organisation = next(
        (
            p["organisation"]
            for p in participants
            if organisation_id is not None and p["organisation_id"] == organisation_id
        ),
        None,
    )
    return {"name": actor.display_name, "organisation": organisation}


def freeze_version(
    session: Session,
    case: SipCase,
    *,
    trigger: str,
    actor: User | None,
    now: datetime,
    approvals: Iterable[dict] = (),
    step_items: tuple | None = None,
    participants: list | None = None,
    person: Person | None = None,
    last_number: int | None = None,
    seeing: frozenset[int] | None = None,
    workflow: Workflow | None = None,
) -> PlanVersion:
    """Freeze the case's working plan as its next version: content, PDF and the PDF's SHA-256.

    approvals: approvals recorded in the same step (each {participant_id, method, approved_at}), which the
    version's approvals table then shows; normally none, and later approvals never change stored bytes.
    step_items (plan and its rows, as `step_plan_items` gives them), participants, person and last_number
    (the case's newest version number, 0 before the first), seeing (the organisations that see the case):
    what the step has read already (not again). workflow: the case's, whose label (in the document's
    language) the PDF's heading names as the kind of SIP; None: no kind named.
    """
    if person is None or last_number is None:
        person, last_number = person_and_last_version_number(session, case)
    if participants is None:
        participants = active_participants(session, case.id)
    # The version's parties (its approvals table, the PDF's signatures) are the organisations the consent in
    # force covers: one it leaves out cannot see the plan, so its approval could never be given.
    if seeing is None:
        seeing = access.organisations_seeing_case(session, case, now=now)
    participants = [p for p in participants if p.organisation_id is None or p.organisation_id in seeing]
    number = last_number + 1
    if step_items is not None and step_items[0] is not None:
        plan, rows = step_items
    else:
        plan, rows = working_plan(session, case), None
    content = plan_content(session, case, plan, rows=rows, participants=participants, person=person)
    content.update(
        version=number,
        trigger=trigger,
        established_at=_utc_text(now),
        established_by=_established_by(session, actor, content["participants"]),
        approvals=[
            {
                "participant_id": a["participant_id"],
                "method": a["method"],
                "approved_at": _utc_text(a["approved_at"]),
            }
            for a in approvals
        ],
        # The guardians who approve on the child's behalf, as the approvals page offers them: each gets a
        # line to sign in the PDF (content frozen before this key has none, as its stored PDF).
        guardians_approving=[
            p["participant_id"]
            for p in content["participants"]
            if approves_on_childs_behalf(p["kind"], person, to_local(now).date())
        ],
    )
    if workflow is not None:
        content["sip_kind"] = workflow.label[PDF_LANGUAGE]
    pdf = render_plan_pdf(content)
    version = PlanVersion(
        case_id=case.id,
        number=number,
        trigger=trigger,
        established_at=now,
        established_by_user_id=actor.id if actor is not None else None,
        content=content,
        pdf=pdf,
        pdf_sha256=hashlib.sha256(pdf).hexdigest(),
    )
    # One Core INSERT returning the id, not the ORM's flush of a new object (its Python cost is larger than
    # the statement's); the object then joins the session as that row, as if it had been read.
    values = {c: getattr(version, c) for c in _VERSION_COLUMNS}
    adopt_inserted(session, version, session.execute(_INSERT_VERSION, values).scalar_one())
    return version


_VERSION_COLUMNS = [c.name for c in PlanVersion.__table__.columns if c.name != "id"]
_INSERT_VERSION = insert(PlanVersion.__table__).returning(PlanVersion.__table__.c.id)


def freeze_plan_version(ctx: TransitionContext) -> None:
    """Effect: freeze the plan as the case's next version when a transition establishes or revises it."""
    version = freeze_version(
        ctx.session,
        ctx.case,
        trigger=ctx.trigger,
        actor=ctx.actor,
        now=ctx.now,
        # The plan and its rows the guards read, the participants authorisation read: not again.
        step_items=step_plan_items(ctx),
        participants=step_participants(ctx),
        # The person the guards read, and the last number read with it in the same statement.
        person=step_person(ctx),
        last_number=ctx.memo[LAST_VERSION_NUMBER],
        # Who sees the case, as the step's first read found it.
        seeing=step_seeing(ctx),
        workflow=ctx.workflow,
    )
    ctx.details["plan_version"] = version.number


register_effect("freeze_plan_version", freeze_plan_version)


# --- Reading versions ------------------------------------------------------------------------------------


def version_summaries_query(case_id: int):
    """The statement behind `version_summaries` (the query-plan test reads it)."""
    return (
        select(
            PlanVersion.id,
            PlanVersion.number,
            PlanVersion.trigger,
            PlanVersion.established_at,
            User.display_name,
            (PlanVersion.pdf_sha256 == SCRUBBED_PDF_SHA256).label("scrubbed"),
        )
        .outerjoin(User, User.id == PlanVersion.established_by_user_id)
        .where(PlanVersion.case_id == case_id)
        .order_by(PlanVersion.number.desc())
        .limit(MAX_VERSIONS_LISTED)
    )


@functools.cache
def _version_summaries_statement():
    # The same statement built once with the case as a bind parameter (the case page reads it on every
    # GET); on first use, as the scrubbed PDF's hash is defined further down.
    return version_summaries_query(bindparam("case_id", type_=Integer))


def version_summaries(session: Session, case: SipCase) -> list[VersionSummary]:
    """The case's versions, newest first, without content or PDF (bounded: MAX_VERSIONS_LISTED)."""
    rows = column_rows(session, _version_summaries_statement(), {"case_id": case.id})
    return [VersionSummary(*row) for row in rows]


def case_page_versions_query(case_id):
    """The case page's one read of its versions: version_summaries_query's rows, the newest's per approval.

    Each listed version has its row; the newest has one per approval (approval_id, participant_id), NULL
    when none, and its content (the parties it was established with, which alone are asked to approve it),
    NULL for the others. The list's limit applies to versions, not to approvals.
    """
    listed = version_summaries_query(case_id).subquery("listed")
    newest = select(func.max(PlanVersion.number)).where(PlanVersion.case_id == case_id).scalar_subquery()
    newest_content = (
        select(PlanVersion.content).where(PlanVersion.id == listed.c.id).correlate(listed).scalar_subquery()
    )
    return (
        select(
            listed,
            PlanApproval.id.label("approval_id"),
            PlanApproval.participant_id,
            sql_case((listed.c.number == newest, newest_content), else_=None).label("newest_content"),
        )
        .outerjoin(PlanApproval, and_(PlanApproval.version_id == listed.c.id, listed.c.number == newest))
        .order_by(listed.c.number.desc(), PlanApproval.approved_at, PlanApproval.id)
    )


@functools.cache
def _case_page_versions_statement():
    return case_page_versions_query(bindparam("case_id", type_=Integer))


def case_page_versions(session: Session, case: SipCase) -> tuple[list[VersionSummary], list]:
    """The case's versions as version_summaries gives them, and the newest one's approvals, in one read.

    The approvals are rows with approval_id and participant_id; the case page shows both sections. The
    newest summary carries the organisations it was established with (`parties`).
    """
    summaries: dict[int, VersionSummary] = {}
    approvals = []
    for row in column_rows(session, _case_page_versions_statement(), {"case_id": case.id}):
        if row.id not in summaries:
            content = row.newest_content
            parties = version_organisations(content) if content is not None else None
            summaries[row.id] = VersionSummary(*row[:6], parties=parties)
        if row.approval_id is not None:
            approvals.append(row)
    return list(summaries.values()), approvals


def find_version_query(case_id: int, number: int | None = None):
    """The statement behind `find_version`: version number of the case, or its newest."""
    query = select(PlanVersion).where(PlanVersion.case_id == case_id)
    if number is None:
        return query.order_by(PlanVersion.number.desc()).limit(1)
    return query.where(PlanVersion.number == number)


def find_version(session: Session, case: SipCase, number: int | None = None) -> PlanVersion | None:
    """Version number of the case (None: its newest), or None when it has no such version."""
    return session.exec(find_version_query(case.id, number)).first()


def version_approvals(session: Session, version: PlanVersion) -> list[PlanApproval]:
    """Every approval of version as recorded now (including those given after it was frozen)."""
    return list(
        session.exec(
            select(PlanApproval)
            .where(PlanApproval.version_id == version.id)
            .order_by(PlanApproval.approved_at)
        ).all()
    )


def recorded_approvals(session: Session, version: PlanVersion) -> list[dict]:
    """The version's approvals as recorded now, in the shape its content keeps them (approval_parties')."""
    return [
        {"participant_id": a.participant_id, "method": a.method, "approved_at": _utc_text(a.approved_at)}
        for a in version_approvals(session, version)
    ]


def version_pdf(session: Session, version: PlanVersion, *, large: bool = False) -> bytes | None:
    """The version's PDF as printed now (None: scrubbed): its frozen content with the approvals recorded for
    it so far, so the approvals table is never out of date; the large-type copy from the same.

    The stored bytes (and their checksum) stay the version as frozen; they are what is served while no
    approval was recorded since, as rendering the same content gives the same bytes.
    """
    if is_scrubbed(version):
        return None
    approvals = recorded_approvals(session, version)
    if approvals == version.content.get("approvals", []):
        content = version.content
        if not large:
            return version.pdf
    else:
        content = {**version.content, "approvals": approvals}
    return render_plan_pdf(content, large=large)


def pdf_matches(version: PlanVersion) -> bool:
    """Whether rendering the stored content again gives the stored bytes and checksum."""
    again = render_plan_pdf(version.content)
    return again == version.pdf and hashlib.sha256(again).hexdigest() == version.pdf_sha256


# The checksum a scrubbed version keeps (of no bytes): what the version lists read instead of the content.
SCRUBBED_PDF_SHA256 = hashlib.sha256(b"").hexdigest()


def is_scrubbed(version: PlanVersion) -> bool:
    """Whether retention has removed the version's content and PDF (only its number and date are left)."""
    return bool(version.content.get("scrubbed"))


@register_case_scrubber
def scrub_versions(session: Session, cases: list[SipCase]) -> None:
    """Retention: each version keeps its number, trigger and date; its content and PDF (the plan) go."""
    versions = session.execute(
        select(PlanVersion.id, PlanVersion.content).where(
            PlanVersion.case_id.in_([case.id for case in cases])
        )
    ).all()
    if not versions:
        return
    table = PlanVersion.__table__
    session.execute(
        update(table)
        .where(table.c.id == bindparam("b_id"))
        .values(content=bindparam("b_content"), pdf=b"", pdf_sha256=SCRUBBED_PDF_SHA256),
        [
            {
                "b_id": version_id,
                "b_content": {key: content.get(key) for key in KEPT_CONTENT_KEYS} | {"scrubbed": True},
            }
            for version_id, content in versions
        ],
    )
