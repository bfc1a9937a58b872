"""The content of a plan as one plain dict: what a version freezes, the PDF prints and the pages compare.

Everything that shows a plan (version snapshot, PDF, comparison, the person's view) reads this one shape,
so a field added here reaches all of them. Dates are ISO strings, so the dict is JSON as it stands.
"""

from __future__ import annotations

from sqlalchemy import Integer, String, bindparam, cast, literal_column, null, union_all
from sqlmodel import Session, select

from sipflow.cases.models import Participant, SipCase
from sipflow.db import column_rows
from sipflow.people.models import Organisation, Person, Unit
from sipflow.plans.models import Plan, PlanContact, PlanEffort, PlanGoal

# Bumped when the shape below changes, so readers of old versions know which shape they hold.
CONTENT_FORMAT = 1


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


# The plan's contacts and the names of the organisations and units the content shows, in one statement
# built once (UNION ALL, the columns padded): rows ("c", organisation id, its name, contact name, phone,
# email), ("o", id, name, NULL ...) and ("u", id, name, NULL ...). A contact carries its organisation's name
# (joined), so the contacts need not be read first to know which names to ask for.
_ORGANISATIONS, _UNITS, _CONTACTS = Organisation.__table__, Unit.__table__, PlanContact.__table__
_NO_TEXT = cast(null(), String)
_CONTACTS_AND_NAMES = union_all(
    select(
        literal_column("'c'").label("source"),
        _CONTACTS.c.organisation_id.label("id"),
        _ORGANISATIONS.c.name,
        _CONTACTS.c.name.label("contact_name"),
        _CONTACTS.c.phone,
        _CONTACTS.c.email,
    )
    .join(_ORGANISATIONS, _ORGANISATIONS.c.id == _CONTACTS.c.organisation_id)
    .where(_CONTACTS.c.plan_id == bindparam("plan_id", type_=Integer)),
    select(
        literal_column("'o'"), _ORGANISATIONS.c.id, _ORGANISATIONS.c.name, _NO_TEXT, _NO_TEXT, _NO_TEXT
    ).where(_ORGANISATIONS.c.id.in_(bindparam("organisation_ids", expanding=True))),
    select(literal_column("'u'"), _UNITS.c.id, _UNITS.c.name, _NO_TEXT, _NO_TEXT, _NO_TEXT).where(
        _UNITS.c.id.in_(bindparam("unit_ids", expanding=True))
    ),
)
# The plan's goals and efforts, as plain rows, in one statement built once (UNION ALL): each row has every
# column of either table (a goal's effort columns NULL, an effort's text NULL), marked "g" or "e".
_GOALS, _EFFORTS = PlanGoal.__table__, PlanEffort.__table__
_ITEM_COLUMNS = {c.name: c.type for c in [*_GOALS.columns, *_EFFORTS.columns] if c.name != "plan_id"}


def _items_of(table, source: str):
    """The select of one table's items with every item column, those it lacks as typed NULLs."""
    return select(
        literal_column(f"'{source}'").label("source"),
        *(
            table.c[name] if name in table.c else cast(null(), type_).label(name)
            for name, type_ in _ITEM_COLUMNS.items()
        ),
    ).where(table.c.plan_id == bindparam("plan_id", type_=Integer))


_ITEMS = union_all(_items_of(_GOALS, "g"), _items_of(_EFFORTS, "e"))
_PLAN_ITEMS = _ITEMS.order_by(
    _ITEMS.selected_columns.source, _ITEMS.selected_columns.position, _ITEMS.selected_columns.id
)


def contacts_and_names(
    session: Session, plan_id: int, organisation_ids: set[int], unit_ids: set[int]
) -> tuple[list, dict, dict]:
    """The plan's contacts (each with its organisation's name) and the names of these organisations and
    units: one statement."""
    rows = column_rows(
        session,
        _CONTACTS_AND_NAMES,
        {"plan_id": plan_id, "organisation_ids": list(organisation_ids), "unit_ids": list(unit_ids)},
    )
    contacts = [row for row in rows if row.source == "c"]
    organisations = {row.id: row.name for row in rows if row.source == "o"}
    units = {row.id: row.name for row in rows if row.source == "u"}
    return contacts, organisations, units


def goals_and_efforts(session: Session, plan_id: int) -> tuple[list, list]:
    """The plan's goals and efforts, each in their order, as read-only rows: one statement."""
    rows = column_rows(session, _PLAN_ITEMS, {"plan_id": plan_id})
    return [row for row in rows if row.source == "g"], [row for row in rows if row.source == "e"]


def plan_items(session: Session, plan: Plan) -> tuple[list[PlanGoal], list[PlanEffort], list[PlanContact]]:
    """The plan's goals and efforts in their order, and its contacts, as objects (the editor saves them)."""
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
    items: tuple[list, list] | None = None,
    participants: list[Participant] | None = None,
    person: Person | None = None,
) -> dict:
    """The whole plan of case as a JSON-ready dict (without version number and approvals).

    items (goals, efforts in their order), participants (the active ones by id), person (the case's): when
    the caller holds them already (a step freezing a version does), they are not read again.
    """
    goals, efforts = items if items is not None else goals_and_efforts(session, plan.id)
    if participants is None:
        participants = session.exec(
            select(Participant)
            .where(Participant.case_id == case.id, Participant.active)
            .order_by(Participant.id)
        ).all()
    organisation_ids = {p.organisation_id for p in participants if p.organisation_id}
    organisation_ids |= {e.organisation_id for e in efforts if e.organisation_id}
    unit_ids = {e.unit_id for e in efforts if e.unit_id} | {p.unit_id for p in participants if p.unit_id}
    contacts, organisations, units = contacts_and_names(session, plan.id, organisation_ids, unit_ids)
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
                    "organisation_id": c.id,
                    "organisation": c.name,
                    "name": c.contact_name,
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
