"""What the coding area reads: the catalogue in force, the facts of units, the records of a case.

`standing_records()` is the one query of the records that still count (records minus reversed ones), for
the statistics and any other reader; `CodeRecord.standing()` is its WHERE clause.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Integer, bindparam, cast, literal, literal_column, null, or_, union_all
from sqlalchemy.engine import Row
from sqlmodel import Session, select

from sipflow.cases.models import Participant
from sipflow.coding.models import CodeAssignment, CodeDefinition, CodeRecord
from sipflow.coding.rules import DISTANCE_KIND, SIP_KIND, Catalogue, UnitFacts
from sipflow.db import column_rows
from sipflow.meetings.models import HELD, Attendance, Meeting
from sipflow.people.labels import unit_label
from sipflow.people.models import Organisation, Person, Unit
from sipflow.routing import KeysetPage, keyset_page

# Pages of the administration lists.
PAGE_SIZE = 50


def standing_records():
    """SELECT of the code records that still count: +1 records that no reversal names."""
    return select(CodeRecord).where(CodeRecord.standing())


def _catalogue_query(unit_clause, *leading):
    """The catalogue's (code, kind, unit id, organisation kind) rows for unit_clause, after leading."""
    return (
        select(
            *leading,
            CodeDefinition.code,
            CodeDefinition.kind,
            CodeAssignment.unit_id,
            CodeAssignment.organisation_kind,
        )
        .select_from(CodeDefinition)
        .outerjoin(CodeAssignment, CodeAssignment.code == CodeDefinition.code)
        .where(
            CodeDefinition.retired_at.is_(None),
            or_(
                CodeDefinition.kind == DISTANCE_KIND,
                (CodeDefinition.kind == SIP_KIND)
                & or_(unit_clause, CodeAssignment.organisation_kind.is_not(None)),
            ),
        )
        .order_by(CodeDefinition.code)
    )


# Built once (the case page reads the catalogue of its care units on every GET); the units are an
# expanding bind parameter.
_CATALOGUE_OF_EVERY_UNIT = _catalogue_query(CodeAssignment.unit_id.is_not(None))
_OF_UNITS = CodeAssignment.unit_id.in_(bindparam("unit_ids", expanding=True))
_CATALOGUE_OF_UNITS = _catalogue_query(_OF_UNITS)
# The case's held meetings, each with its records' columns (not CodeRecord objects: the case page shows them
# and never changes them), one row of None for a meeting without records (its outcome recorded no code).
_CASE_RECORDS = (
    select(
        Meeting.id.label("held_meeting_id"),
        Meeting.kind.label("held_kind"),
        Meeting.held_at.label("held_at"),
        Meeting.starts_at.label("held_starts_at"),
        *CodeRecord.__table__.c,
        Unit.name.label("unit_name"),
        Organisation.name.label("organisation_name"),
    )
    .select_from(Meeting)
    .outerjoin(CodeRecord, CodeRecord.meeting_id == Meeting.id)
    .outerjoin(Unit, Unit.id == CodeRecord.unit_id)
    .outerjoin(Organisation, Organisation.id == Unit.organisation_id)
    .where(Meeting.case_id == bindparam("case_id", type_=Integer), Meeting.status == HELD)
    .order_by(Meeting.held_at, Meeting.id, CodeRecord.id)
)


def load_catalogue(session: Session, unit_ids: Collection[int] | None = None) -> Catalogue:
    """The codes in force, in one statement: assignments to non-retired SIP codes, and distance codes.

    unit_ids: the units whose own assignments are wanted (None: every unit's, as the demo loader needs).
    """
    if unit_ids is None:
        rows = session.exec(_CATALOGUE_OF_EVERY_UNIT).all()
    else:
        rows = column_rows(session, _CATALOGUE_OF_UNITS, {"unit_ids": list(unit_ids) or [-1]})
    return _catalogue_of(rows)


def _catalogue_of(rows) -> Catalogue:
    """The Catalogue of (code, kind, unit id, organisation kind) rows in the order of their codes."""
    by_unit, by_kind, distance = {}, {}, []
    for code, kind, unit_id, organisation_kind in rows:
        if kind == DISTANCE_KIND:
            if code not in distance:
                distance.append(code)
        elif unit_id is not None:
            by_unit[unit_id] = code
        elif organisation_kind is not None:
            by_kind[organisation_kind] = code
    return Catalogue(by_unit=by_unit, by_organisation_kind=by_kind, distance=tuple(distance))


@dataclass(frozen=True)
class PersonFacts:
    """The person's particulars a code record carries (id, folkbokföringskommun, legal sex, birth date)."""

    person_id: int
    municipality_code: str
    legal_sex: str | None
    birth_date: date | None


# A held meeting's units' facts, the person's particulars and the catalogue of those units, in one statement
# built once: the coding needs all three, the person (one row by primary key) costs a column or four on each
# unit's row, and the catalogue's rows follow in a UNION ALL, each kind of row padding the other's columns.
_UNIT_COLUMNS = (Unit.id, Unit.organisation_id, Organisation.kind, Unit.is_health_care)
_FACT_COLUMNS = (
    *_UNIT_COLUMNS,
    Person.id,
    Person.home_municipality_code,
    Person.legal_sex,
    Person.birth_date,
)
_UNIT_FACTS_PERSON_AND_CATALOGUE = union_all(
    select(
        literal("u").label("source"),
        *_FACT_COLUMNS,
        *(null().label(name) for name in ("code", "code_kind", "assigned_unit_id", "organisation_kind")),
    )
    .join(Organisation, Organisation.id == Unit.organisation_id)
    .join(Person, Person.id == bindparam("person_id", type_=Integer))
    .where(Unit.id.in_(bindparam("unit_ids", expanding=True))),
    _catalogue_query(_OF_UNITS, literal("c"), *(cast(null(), c.type) for c in _FACT_COLUMNS)).order_by(None),
).order_by(literal_column("source"), literal_column("code"))


def facts_person_and_catalogue(
    session: Session, unit_ids: Collection[int], person_id: int
) -> tuple[dict[int, UnitFacts], PersonFacts | None, Catalogue]:
    """`unit_facts` of these units, the person's particulars (None with no unit found), and the catalogue
    of these units (load_catalogue's), in one statement."""
    params = {"unit_ids": list(unit_ids) or [-1], "person_id": person_id}
    rows = column_rows(session, _UNIT_FACTS_PERSON_AND_CATALOGUE, params)
    facts_rows = [row for row in rows if row[0] == "u"]
    facts = _facts_by_unit(row[1:5] for row in facts_rows)
    person = PersonFacts(*facts_rows[0][5:9]) if facts_rows else None
    return facts, person, _catalogue_of(row[9:] for row in rows if row[0] == "c")


def unit_facts(session: Session, unit_ids: Collection[int]) -> dict[int, UnitFacts]:
    """The organisation, its kind and whether it is health care, of each unit (one statement)."""
    if not unit_ids:
        return {}
    rows = session.exec(
        select(*_UNIT_COLUMNS)
        .join(Organisation, Organisation.id == Unit.organisation_id)
        .where(Unit.id.in_(list(unit_ids)))
    ).all()
    return _facts_by_unit(rows)


def _facts_by_unit(rows) -> dict[int, UnitFacts]:
    """UnitFacts by unit id, of (unit id, organisation id, organisation kind, is health care) rows."""
    return {unit_id: UnitFacts(unit_id, org_id, kind, bool(care)) for unit_id, org_id, kind, care in rows}


def case_records(session: Session, case_id: int) -> list[Row]:
    """The case's held meetings with every code record of each (records and reversals, their columns by
    name, and the unit's name); a meeting without records is one row whose record columns are None.

    By the time held, meeting and id.
    """
    return column_rows(session, _CASE_RECORDS, {"case_id": case_id})


def meeting_standing_records(session: Session, meeting_id: int) -> list[CodeRecord]:
    """The records of one meeting that still count."""
    return list(
        session.exec(
            standing_records().where(CodeRecord.meeting_id == meeting_id).order_by(CodeRecord.id)
        ).all()
    )


@dataclass(frozen=True)
class MeetingCodes:
    """Every record of one meeting (records and reversals) by id, and what they say together."""

    records: list[CodeRecord]

    @property
    def standing(self) -> list[CodeRecord]:
        """The records that count: +1 records no reversal names (CodeRecord.standing(), in Python)."""
        reversed_ids = {r.reverses_id for r in self.records if r.reverses_id is not None}
        return [r for r in self.records if r.sign == 1 and r.id not in reversed_ids]

    @property
    def last_id(self) -> int | None:
        """The newest record's id: a form read before a later record is stale."""
        return self.records[-1].id if self.records else None


def meeting_codes(session: Session, meeting_id: int) -> MeetingCodes:
    """Every record of one meeting, by id: a handful, found by its index."""
    return MeetingCodes(
        list(
            session.exec(
                select(CodeRecord).where(CodeRecord.meeting_id == meeting_id).order_by(CodeRecord.id)
            ).all()
        )
    )


@dataclass(frozen=True)
class CareAttendance:
    """How one health-care unit took part in a held meeting, as its outcome recorded it (None: not)."""

    participant_id: int
    unit_id: int
    # Named with its organisation (labels.unit_label): unit names repeat across organisations.
    unit_name: str
    mode: str | None


# Built once: the correction page reads them on every GET. Two statements, each a seek by key: joined in
# one, SQLite's planner may walk every participant and seek each one's attendance instead.
_MEETING_ATTENDANCE = select(Attendance.participant_id, Attendance.mode).where(
    Attendance.meeting_id == bindparam("meeting_id", type_=Integer)
)
# The case's health-care units with an attendance row, or taking part in the SIP when the meeting was held
# (an outcome may leave a unit's attendance unrecorded: its codes still follow from how it took part).
_HELD_AT = bindparam("held_at", type_=Participant.added_at.type)
_CARE_PARTICIPANTS = (
    select(Participant.id, Participant.unit_id, Unit.name, Organisation.name)
    .join(Unit, Unit.id == Participant.unit_id)
    .join(Organisation, Organisation.id == Unit.organisation_id)
    .where(
        Participant.case_id == bindparam("case_id", type_=Integer),
        Participant.kind == "organisation",
        Unit.is_health_care,
        or_(
            Participant.id.in_(bindparam("participant_ids", expanding=True)),
            (Participant.added_at <= _HELD_AT)
            & or_(Participant.removed_at.is_(None), Participant.removed_at > _HELD_AT),
        ),
    )
    .order_by(Organisation.name, Unit.name, Participant.id)
)


def meeting_care_attendance(session: Session, meeting: Meeting) -> list[CareAttendance]:
    """How each health-care unit of a held meeting took part, as the outcome recorded it (mode None when
    it recorded none): the facts its codes follow from, by unit name."""
    modes = dict(column_rows(session, _MEETING_ATTENDANCE, {"meeting_id": meeting.id}))
    params = {
        "case_id": meeting.case_id,
        "participant_ids": list(modes) or [-1],
        "held_at": meeting.held_at or meeting.starts_at,
    }
    rows = column_rows(session, _CARE_PARTICIPANTS, params)
    return [
        CareAttendance(pid, unit_id, unit_label(organisation, name), modes.get(pid))
        for pid, unit_id, name, organisation in rows
    ]


def codes_page(
    session: Session, after: str | None = None, *, before: str | None = None, page: int = 1
) -> KeysetPage:
    """One page of the catalogue by code, after the code given, or the page before the code before."""

    def read(cursor: str | None, backwards: bool, count: int) -> list:
        query = select(CodeDefinition).order_by(
            CodeDefinition.code.desc() if backwards else CodeDefinition.code
        )
        if cursor is not None:
            query = query.where(CodeDefinition.code < cursor if backwards else CodeDefinition.code > cursor)
        return list(session.exec(query.limit(count)).all())

    return keyset_page(read, after=after, before=before, page=page, limit=PAGE_SIZE, key=lambda row: row.code)


def sip_codes_in_force(session: Session) -> list[str]:
    """The non-retired SIP codes a unit or organisation kind can be set to record."""
    return list(
        session.exec(
            select(CodeDefinition.code)
            .where(CodeDefinition.kind == SIP_KIND, CodeDefinition.retired_at.is_(None))
            .order_by(CodeDefinition.code)
        ).all()
    )


def organisation_kind_assignments(session: Session) -> dict[str, str]:
    """The SIP code set for each organisation kind."""
    rows = session.exec(
        select(CodeAssignment.organisation_kind, CodeAssignment.code).where(
            CodeAssignment.organisation_kind.is_not(None)
        )
    ).all()
    return dict(rows)


def organisation_kinds(session: Session) -> list[str]:
    """The organisation kinds there are (the organisation table holds the county's few dozen rows)."""
    return list(session.exec(select(Organisation.kind).distinct().order_by(Organisation.kind)).all())


def units_page(
    session: Session, after: int | None = None, *, before: int | None = None, page: int = 1
) -> KeysetPage:
    """One page of units by id (keyset) with their organisation and their own SIP code, if one is set: after
    the unit after, or the page before the unit before."""

    def read(cursor: int | None, backwards: bool, count: int) -> list:
        query = (
            select(Unit, Organisation, CodeAssignment.code)
            .join(Organisation, Organisation.id == Unit.organisation_id)
            .outerjoin(CodeAssignment, CodeAssignment.unit_id == Unit.id)
            .order_by(Unit.id.desc() if backwards else Unit.id)
        )
        if cursor is not None:
            query = query.where(Unit.id < cursor if backwards else Unit.id > cursor)
        return list(session.exec(query.limit(count)).all())

    return keyset_page(
        read, after=after, before=before, page=page, limit=PAGE_SIZE, key=lambda row: row[0].id
    )
