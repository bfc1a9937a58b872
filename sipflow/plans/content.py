"""The content of a plan as one plain dict: what a version freezes, the PDF prints and the pages compare.

Everything that shows a plan (version snapshot, PDF, comparison, the person's view) reads this one shape,
so a field added here reaches all of them. Dates are ISO strings, so the dict is JSON as it stands.
"""

from __future__ import annotations

from sqlalchemy import literal_column, union_all
from sqlmodel import Session, select

from sipflow.cases.models import Participant, SipCase
from sipflow.people.models import Organisation, Person, Unit
from sipflow.plans.models import Plan, PlanContact, PlanEffort, PlanGoal

# Bumped when the shape below changes, so readers of old versions know which shape they hold.
CONTENT_FORMAT = 1


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def _names(session: Session, organisation_ids: set[int], unit_ids: set[int]) -> tuple[dict, dict]:
    """The names of these organisations and units: one statement for both (UNION ALL)."""
    if not organisation_ids and not unit_ids:
        return {}, {}
    rows = session.exec(
        union_all(
            select(literal_column("'o'").label("source"), Organisation.id, Organisation.name).where(
                Organisation.id.in_(organisation_ids)
            ),
            select(literal_column("'u'").label("source"), Unit.id, Unit.name).where(Unit.id.in_(unit_ids)),
        )
    ).all()
    organisations = {row_id: name for source, row_id, name in rows if source == "o"}
    units = {row_id: name for source, row_id, name in rows if source == "u"}
    return organisations, units


def plan_items(session: Session, plan: Plan) -> tuple[list[PlanGoal], list[PlanEffort], list[PlanContact]]:
    """The plan's goals and efforts in their order, and its contacts: one query each."""
    goals = session.exec(
        select(PlanGoal).where(PlanGoal.plan_id == plan.id).order_by(PlanGoal.position, PlanGoal.id)
    ).all()
    efforts = session.exec(
        select(PlanEffort).where(PlanEffort.plan_id == plan.id).order_by(PlanEffort.position, PlanEffort.id)
    ).all()
    contacts = session.exec(select(PlanContact).where(PlanContact.plan_id == plan.id)).all()
    return list(goals), list(efforts), list(contacts)


def plan_content(
    session: Session,
    case: SipCase,
    plan: Plan,
    *,
    items: tuple[list[PlanGoal], list[PlanEffort]] | None = None,
    participants: list[Participant] | None = None,
    person: Person | None = None,
) -> dict:
    """The whole plan of case as a JSON-ready dict (without version number and approvals).

    items (goals, efforts in their order), participants (the active ones by id), person (the case's): when
    the caller holds them already (a step freezing a version does), they are not read again.
    """
    if items is None:
        goals, efforts, contacts = plan_items(session, plan)
    else:
        goals, efforts = items
        contacts = list(session.exec(select(PlanContact).where(PlanContact.plan_id == plan.id)).all())
    if participants is None:
        participants = session.exec(
            select(Participant)
            .where(Participant.case_id == case.id, Participant.active)
            .order_by(Participant.id)
        ).all()
    organisation_ids = {p.organisation_id for p in participants if p.organisation_id}
    organisation_ids |= {e.organisation_id for e in efforts if e.organisation_id}
    organisation_ids |= {c.organisation_id for c in contacts}
    unit_ids = {e.unit_id for e in efforts if e.unit_id} | {p.unit_id for p in participants if p.unit_id}
    organisations, units = _names(session, organisation_ids, unit_ids)
    if person is None:
        person = session.get(Person, case.person_id)
    huvudansvarig = next((p for p in participants if p.role == "huvudansvarig" and p.organisation_id), None)
    return {
        "format": CONTENT_FORMAT,
        "case_reference": case.reference,
        "person": {
            "name": f"{person.given_name} {person.family_name}",
            "id_number": person.id_number,
            "birth_date": _iso(person.birth_date),
        },
        "needs": plan.needs or "",
        "own_goals": [{"uid": g.uid, "text": g.text} for g in goals if g.kind == "own"],
        "professional_goals": [{"uid": g.uid, "text": g.text} for g in goals if g.kind == "professional"],
        "efforts": [
            {
                "uid": e.uid,
                "kind": e.kind,
                "what": e.what,
                "organisation_id": e.organisation_id,
                "organisation": organisations.get(e.organisation_id),
                "unit": units.get(e.unit_id),
                "responsible": e.responsible,
                "actor": e.actor,
                "starts_on": _iso(e.starts_on),
                "ends_on": _iso(e.ends_on),
                "status": e.status,
            }
            for e in efforts
        ],
        "no_other_measures": plan.no_other_measures,
        "huvudansvar": {
            "organisation_id": huvudansvarig.organisation_id if huvudansvarig else None,
            "organisation": organisations.get(huvudansvarig.organisation_id) if huvudansvarig else None,
            "contact": plan.huvudansvar_contact,
        },
        "fast_vardkontakt": plan.fast_vardkontakt,
        "fast_omsorgskontakt": plan.fast_omsorgskontakt,
        "contacts": sorted(
            (
                {
                    "organisation_id": c.organisation_id,
                    "organisation": organisations.get(c.organisation_id),
                    "name": c.name,
                    "phone": c.phone,
                    "email": c.email,
                }
                for c in contacts
            ),
            key=lambda c: (c["organisation"] or "", c["organisation_id"]),
        ),
        "follow_up_on": _iso(plan.follow_up_on),
        "child_view": case.child_view,
        "child_view_missing_reason": plan.child_view_missing_reason,
        "participants": [
            {
                "participant_id": p.id,
                "kind": p.kind,
                "role": p.role,
                "organisation_id": p.organisation_id,
                "organisation": organisations.get(p.organisation_id),
                "unit": units.get(p.unit_id),
                "name": p.name,
                "relation": p.relation,
            }
            for p in participants
        ],
    }
