"""The synthetic loader codes the meetings it simulates by the rules the record_codes effect applies."""

from __future__ import annotations

from collections import defaultdict

import pytest
from sqlmodel import select

from sipflow.cases.models import Participant
from sipflow.coding.models import CodeRecord
from sipflow.coding.queries import load_catalogue, unit_facts
from sipflow.coding.rules import codes_for_meeting
from sipflow.demo.synthetic import load_synthetic_cases
from sipflow.meetings.models import Attendance, Meeting
from sipflow.people.models import Person

pytestmark = pytest.mark.usefixtures("catalogue")


def test_synthetic_meetings_carry_the_codes_the_rules_give(app_ctx, db_session):
    load_synthetic_cases(120, seed=12, batch_size=50)
    held = {m.id: m for m in db_session.exec(select(Meeting).where(Meeting.status == "held")).all()}
    assert held
    taking_part = defaultdict(list)
    rows = db_session.exec(
        select(Attendance.meeting_id, Participant.unit_id, Attendance.mode).join(
            Participant, Participant.id == Attendance.participant_id
        )
    ).all()
    facts = unit_facts(db_session, {unit_id for _, unit_id, _ in rows if unit_id is not None})
    for meeting_id, unit_id, mode in rows:
        taking_part[meeting_id].append((facts.get(unit_id), mode))
    catalogue = load_catalogue(db_session)
    expected = {
        (meeting_id, choice.unit.unit_id, choice.code)
        for meeting_id, pairs in taking_part.items()
        for choice in codes_for_meeting(pairs, catalogue)
    }
    records = db_session.exec(select(CodeRecord)).all()
    assert {(r.meeting_id, r.unit_id, r.code) for r in records} == expected
    assert {r.code for r in records} == {"XU045", "ZV051"}  # the synthetic municipalities are not health care
    persons = {p.id: p for p in db_session.exec(select(Person)).all()}
    for record in records:
        meeting = held[record.meeting_id]
        assert record.case_id == meeting.case_id and record.meeting_kind == meeting.kind
        assert record.municipality_code == persons[record.person_id].home_municipality_code
        assert record.legal_sex == persons[record.person_id].legal_sex
        assert record.sign == 1 and record.reverses_id is None
