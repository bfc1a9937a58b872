"""The content of a plan as one plain dict: what a version freezes, the PDF prints and the pages compare.

Everything that shows a plan (version snapshot, PDF, comparison, the person's view) reads this one shape,
so a field added here reaches all of them. Dates are ISO strings, so the dict is JSON as it stands.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Integer, bindparam, cast, literal_column, null, union_all
from sqlmodel import Session, select

from sipflow.cases.models import Participant, SipCase
from sipflow.cases.participants import active_participants
from sipflow.db import column_rows
from sipflow.people.models import Organisation, Person, Unit
from sipflow.plans.models import Plan, PlanContact, PlanEffort, PlanGoal
from sipflow.workflow.definition import HUVUDANSVARIG

# Bumped when the shape below changes, so readers of old versions know which shape they hold.
CONTENT_FORMAT = 1


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


# Everything of a plan the content shows beside the plan row, in one statement built once (UNION ALL), each
# row marked by its source: "g" a goal, "e" an effort (with its organisation's and unit's names, joined),
# "c" a contact (with its organisation's name), "o" and "u" the names of the participants' organisations
# and units. Every row has every column; what its table lacks is a typed NULL (so dates stay dates).
_GOALS, _EFFORTS, _CONTACTS = PlanGoal.__table__, PlanEffort.__table__, PlanContact.__table__
_ORGANISATIONS, _UNITS = Organisation.__table__, Unit.__table__
_EFFORT_ORGANISATION, _EFFORT_UNIT = _ORGANISATIONS.alias("effort_organisation"), _UNITS.alias("effort_unit")
_PLAN_ID = bindparam("plan_id", type_=Integer)
_ROW_COLUMNS = {
    **{c.name: c for c in [*_GOALS.columns, *_EFFORTS.columns, *_CONTACTS.columns] if c.name != "plan_id"},
    "organisation": _ORGANISATIONS.c.name,
    "organisation_kind": _ORGANISATIONS.c.kind,
    "unit": _UNITS.c.name,
}


def _rows_of(source: str, columns: dict):
    """A select of one source's rows with every column of _ROW_COLUMNS, those it lacks as typed NULLs."""
    return select(
        literal_column(f"'{source}'").label("source"),
        *(
            columns[name].label(name) if name in columns else cast(null(), column.type).label(name)
            for name, column in _ROW_COLUMNS.items()
        ),
    )


_PLAN_ROW_SELECTS = (
    _rows_of("g", dict(_GOALS.c)).where(_GOALS.c.plan_id == _PLAN_ID),
    _rows_of(
        "e",
        {
            **_EFFORTS.c,
            "organisation": _EFFORT_ORGANISATION.c.name,
            "organisation_kind": _EFFORT_ORGANISATION.c.kind,
            "unit": _EFFORT_UNIT.c.name,
        },
    )
    .select_from(
        _EFFORTS.outerjoin(
            _EFFORT_ORGANISATION, _EFFORT_ORGANISATION.c.id == _EFFORTS.c.organisation_id
        ).outerjoin(_EFFORT_UNIT, _EFFORT_UNIT.c.id == _EFFORTS.c.unit_id)
    )
    .where(_EFFORTS.c.plan_id == _PLAN_ID),
    _rows_of("c", {**_CONTACTS.c, "organisation": _ORGANISATIONS.c.name})
    .select_from(_CONTACTS.join(_ORGANISATIONS, _ORGANISATIONS.c.id == _CONTACTS.c.organisation_id))
    .where(_CONTACTS.c.plan_id == _PLAN_ID),
    _rows_of(
        "o",
        {
            "id": _ORGANISATIONS.c.id,
            "organisation": _ORGANISATIONS.c.name,
            "organisation_kind": _ORGANISATIONS.c.kind,
        },
    ).where(_ORGANISATIONS.c.id.in_(bindparam("organisation_ids", expanding=True))),
    _rows_of("u", {"id": _UNITS.c.id, "unit": _UNITS.c.name}).where(
        _UNITS.c.id.in_(bindparam("unit_ids", expanding=True))
    ),
)


def _ordered(rows):
    return rows.order_by(
        rows.selected_columns.source, rows.selected_columns.position, rows.selected_columns.id
    )


_PLAN_ROWS = _ordered(union_all(*_PLAN_ROW_SELECTS))


def plan_rows_after(write):
    """The statement of read_plan_rows with write (a data-modifying CTE RETURNING an id) in its WITH, whose
    rows come as source "w": the write and the read in one round trip (PostgreSQL)."""
    return _ordered(
        union_all(*_PLAN_ROW_SELECTS, _rows_of("w", {"id": write.c.id}).select_from(write))
    ).add_cte(write)


@dataclass(frozen=True)
class PlanRows:
    """A plan's goals and efforts (each in their order) and contacts as read-only rows, and the names of
    the organisations (and their kinds) and units of the participants they were read for."""

    goals: list
    efforts: list
    contacts: list
    organisations: dict[int, str]
    units: dict[int, str]
    # The ids the names were asked for: participants changed since then need the names read again.
    asked: tuple[frozenset, frozenset]
    # Each organisation's kind (Organisation.kind), by id: whether it is a huvudman (plans.responsibility).
    organisation_kinds: dict[int, str] = field(default_factory=dict)

    def names_cover(self, participants: list) -> bool:
        """Whether the names were read for these participants' organisations and units."""
        organisation_ids, unit_ids = _participant_ids(participants)
        return organisation_ids <= self.asked[0] and unit_ids <= self.asked[1]


# A case without a plan yet: nothing to show.
NO_PLAN_ROWS = PlanRows(
    goals=[], efforts=[], contacts=[], organisations={}, units={}, asked=(frozenset(), frozenset())
)


def _participant_ids(participants: list) -> tuple[frozenset, frozenset]:
    return (
        frozenset(p.organisation_id for p in participants if p.organisation_id),
        frozenset(p.unit_id for p in participants if p.unit_id),
    )


def read_plan_rows(session: Session, plan_id: int, participants: list) -> PlanRows:
    """The plan's goals, efforts and contacts, and the participants' organisations' and units' names:
    one statement."""
    return read_plan_rows_after(session, _PLAN_ROWS, {"plan_id": plan_id}, participants)[0]


def read_plan_rows_after(
    session: Session, statement, params: dict, participants: list
) -> tuple[PlanRows, list]:
    """read_plan_rows by statement (_PLAN_ROWS or one of plan_rows_after, with its params): the plan's rows,
    and the ids its write returned."""
    organisation_ids, unit_ids = _participant_ids(participants)
    params = params | {"organisation_ids": list(organisation_ids), "unit_ids": list(unit_ids)}
    by_source = {"g": [], "e": [], "c": [], "o": [], "u": [], "w": []}
    for row in column_rows(session, statement, params):
        by_source[row.source].append(row)
    rows = PlanRows(
        goals=by_source["g"],
        efforts=by_source["e"],
        contacts=by_source["c"],
        organisations={row.id: row.organisation for row in by_source["o"]},
        units={row.id: row.unit for row in by_source["u"]},
        asked=(organisation_ids, unit_ids),
        organisation_kinds={row.id: row.organisation_kind for row in by_source["o"]},
    )
    return rows, [row.id for row in by_source["w"]]


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
    rows: PlanRows | None = None,
    participants: list[Participant] | None = None,
    person: Person | None = None,
) -> dict:
    """The whole plan of case as a JSON-ready dict (without version number and approvals).

    rows (the plan's goals, efforts, contacts and the participants' names), participants (the active ones
    by id), person (the case's): when the caller holds them already (a step freezing a version does), they
    are not read again.
    """
    if participants is None:
        participants = active_participants(session, case.id)
    if rows is None or not rows.names_cover(participants):
        rows = read_plan_rows(session, plan.id, participants)
    goals, efforts, contacts = rows.goals, rows.efforts, rows.contacts
    organisations, units = rows.organisations, rows.units
    if person is None:
        person = session.get(Person, case.person_id)
    huvudansvarig = next((p for p in participants if p.role == HUVUDANSVARIG and p.organisation_id), None)
    return {
        "format": CONTENT_FORMAT,
        "case_reference": case.reference,
        "person": {
            "name": f"{person.given_name} {person.family_name}",
            "id_number": person.id_number,
            # personnummer, samordningsnummer or reservnummer: what the document calls the identifier.
            "id_kind": person.id_kind,
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
                "organisation": e.organisation,
                # What models.by_others asks; content frozen before it was kept lacks it (None).
                "organisation_kind": e.organisation_kind,
                "unit": e.unit,
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
                    "organisation": c.organisation,
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
