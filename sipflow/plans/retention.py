"""The plan area's part in retention: what anonymisation clears, and what the registerutdrag shows.

A plan is free text about the person from end to end, so anonymising a case clears all of it: the working
plan's texts, goals, efforts' descriptions and names, contacts and hand-over reasons here, every frozen
version's content and PDF in plans.versions (the approvals, dates and owners' organisations stay as facts).
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import func, update
from sqlmodel import Session, select

from sipflow.cases.models import SipCase
from sipflow.people.models import Organisation
from sipflow.plans.models import (
    HuvudansvarTransfer,
    PersonalLink,
    Plan,
    PlanApproval,
    PlanContact,
    PlanEffort,
    PlanGoal,
    PlanVersion,
)
from sipflow.retention.anonymise import register_case_scrubber
from sipflow.retention.export import ThirdParties, register_cases_section


def _quiet(statement):
    return statement.execution_options(synchronize_session=False)


@register_case_scrubber
def scrub_plan(session: Session, cases: list[SipCase]) -> None:
    """Clear the cases' working plans and hand-over reasons, and revoke their personal links.

    Their frozen versions are cleared by plans.versions.scrub_versions (they keep number and date).
    """
    case_ids = [case.id for case in cases]
    plan_ids = select(Plan.id).where(Plan.case_id.in_(case_ids))
    session.execute(
        _quiet(
            update(Plan)
            .where(Plan.case_id.in_(case_ids))
            .values(
                needs=None,
                huvudansvar_contact=None,
                fast_vardkontakt=None,
                fast_omsorgskontakt=None,
                child_view_missing_reason=None,
            )
        )
    )
    session.execute(_quiet(update(PlanGoal).where(PlanGoal.plan_id.in_(plan_ids)).values(text="")))
    session.execute(
        _quiet(
            update(PlanEffort)
            .where(PlanEffort.plan_id.in_(plan_ids))
            .values(what="", responsible=None, actor=None)
        )
    )
    session.execute(
        _quiet(
            update(PlanContact)
            .where(PlanContact.plan_id.in_(plan_ids))
            .values(name="", phone=None, email=None)
        )
    )
    session.execute(
        _quiet(
            update(HuvudansvarTransfer)
            .where(HuvudansvarTransfer.case_id.in_(case_ids))
            .values(reason=None, cleared_contact=None)
        )
    )
    # A link still open is revoked as of the case's last change (its end), not the night retention ran.
    case_end = select(SipCase.updated_at).where(SipCase.id == PersonalLink.case_id).scalar_subquery()
    session.execute(
        _quiet(
            update(PersonalLink)
            .where(PersonalLink.case_id.in_(case_ids))
            .values(revoked_at=func.coalesce(PersonalLink.revoked_at, case_end), sent_to=None)
        )
    )


def _working_plans(session: Session, case_ids: list[int]) -> dict[int, dict]:
    """Each case's working plan as staff last saved it (a version freezes it; before the first, and between
    versions, it is held only here): its texts, goals, efforts and contacts. One statement per table."""
    plans = session.exec(select(Plan).where(Plan.case_id.in_(case_ids))).all() if case_ids else []
    if not plans:
        return {}
    plan_ids = [plan.id for plan in plans]

    def rows(model, *order):
        grouped = defaultdict(list)
        for row in session.exec(select(model).where(model.plan_id.in_(plan_ids)).order_by(*order)).all():
            grouped[row.plan_id].append(row)
        return grouped

    goals = rows(PlanGoal, PlanGoal.plan_id, PlanGoal.position, PlanGoal.id)
    efforts = rows(PlanEffort, PlanEffort.plan_id, PlanEffort.position, PlanEffort.id)
    contacts = rows(PlanContact, PlanContact.plan_id, PlanContact.id)
    organisation_ids = {e.organisation_id for found in efforts.values() for e in found} | {
        c.organisation_id for found in contacts.values() for c in found
    }
    organisation_ids.discard(None)
    names = (
        dict(
            session.exec(
                select(Organisation.id, Organisation.name).where(Organisation.id.in_(organisation_ids))
            ).all()
        )
        if organisation_ids
        else {}
    )
    return {
        plan.case_id: {
            "needs": plan.needs,
            "no_other_measures": plan.no_other_measures,
            "huvudansvar_contact": plan.huvudansvar_contact,
            "fast_vardkontakt": plan.fast_vardkontakt,
            "fast_omsorgskontakt": plan.fast_omsorgskontakt,
            "follow_up_on": plan.follow_up_on,
            "child_view_missing_reason": plan.child_view_missing_reason,
            "updated_at": plan.updated_at,
            "goals": [{"kind": g.kind, "text": g.text} for g in goals[plan.id]],
            "efforts": [
                {
                    "kind": e.kind,
                    "what": e.what,
                    "organisation": names.get(e.organisation_id),
                    "responsible": e.responsible,
                    "actor": e.actor,
                    "starts_on": e.starts_on,
                    "ends_on": e.ends_on,
                    "status": e.status,
                }
                for e in efforts[plan.id]
            ],
            "contacts": [
                {
                    "organisation": names.get(c.organisation_id),
                    "name": c.name,
                    "phone": c.phone,
                    "email": c.email,
                }
                for c in contacts[plan.id]
            ],
        }
        for plan in plans
    }


def plan_section(session: Session, cases: list[SipCase], _third_parties: ThirdParties) -> dict[int, dict]:
    """Each case's plan for the registerutdrag: the working plan, every version's content and approvals,
    and hand-overs.

    One statement per table for all the person's cases.
    """
    case_ids = [case.id for case in cases]
    versions = session.exec(
        select(PlanVersion)
        .where(PlanVersion.case_id.in_(case_ids))
        .order_by(PlanVersion.case_id, PlanVersion.number)
    ).all()
    approvals: dict[int, list[PlanApproval]] = defaultdict(list)
    for approval in session.exec(
        select(PlanApproval)
        .where(PlanApproval.version_id.in_([v.id for v in versions]))
        .order_by(PlanApproval.version_id, PlanApproval.id)
    ).all():
        approvals[approval.version_id].append(approval)
    transfers = session.exec(
        select(HuvudansvarTransfer)
        .where(HuvudansvarTransfer.case_id.in_(case_ids))
        .order_by(HuvudansvarTransfer.at)
    ).all()
    working = _working_plans(session, case_ids)
    found = {
        case_id: {"working_plan": working.get(case_id), "versions": [], "huvudansvar_transfers": []}
        for case_id in case_ids
    }
    for v in versions:
        found[v.case_id]["versions"].append(
            {
                "number": v.number,
                "established_at": v.established_at,
                "pdf_sha256": v.pdf_sha256,
                "content": v.content,
                "approvals": [
                    {"participant_id": a.participant_id, "method": a.method, "approved_at": a.approved_at}
                    for a in approvals[v.id]
                ],
            }
        )
    for t in transfers:
        found[t.case_id]["huvudansvar_transfers"].append(
            {
                "at": t.at,
                "from_organisation_id": t.from_organisation_id,
                "to_organisation_id": t.to_organisation_id,
                "reason": t.reason,
                "cleared_contact": t.cleared_contact,
            }
        )
    return found


register_cases_section("plan", plan_section)


def links_section(
    session: Session, cases: list[SipCase], third_parties: ThirdParties
) -> dict[int, list[dict]]:
    """The personal links each case sent (to the person or a närstående): to which address, and their life.

    A link sent to a närstående or guardian keeps back the address (their data, art. 15(4)); it names the
    participant. One statement for all the person's cases.
    """
    found: dict[int, list[dict]] = defaultdict(list)
    links = session.exec(
        select(PersonalLink)
        .where(PersonalLink.case_id.in_([case.id for case in cases]))
        .order_by(PersonalLink.created_at, PersonalLink.id)
    ).all()
    for link in links:
        other = third_parties.holds(link.case_id, participant_id=link.participant_id, address=link.sent_to)
        found[link.case_id].append(
            {
                # The number the links page and the loggutdrag ("Personlig länk nr N") give the link.
                "id": link.id,
                "participant_id": link.participant_id,
                "sent_to": None if other else link.sent_to,
                "created_at": link.created_at,
                "expires_at": link.expires_at,
                "revoked_at": link.revoked_at,
                "last_used_at": link.last_used_at,
            }
        )
    return found


register_cases_section("personal_links", links_section)
