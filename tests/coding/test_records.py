"""Codes are written by sipflow itself when a meeting is recorded as held, and corrected by reversal."""

from __future__ import annotations

from datetime import timedelta

import pytest
from codingkit import codes_by_unit, hold, records, reverse_now, to_meeting
from sqlmodel import func, select

from sipflow.coding.models import CodeAssignment, CodeDefinition, CodeRecord
from sipflow.coding.queries import standing_records
from sipflow.coding.rules import Catalogue, UnitFacts, age_on, codes_for_meeting
from sipflow.db import unit_of_work
from sipflow.errors import Conflict, InvalidInput
from sipflow.meetings.models import Meeting
from sipflow.retention.export import person_export

pytestmark = pytest.mark.usefixtures("catalogue")


@pytest.fixture
def care_municipality(make_unit):
    """A municipality unit that is health care (kommunal hälso- och sjukvård)."""
    return make_unit("municipality", "Växjö kommun, hemsjukvården", health_care=True)


def _held(db_session, registry, parties, create_case, now, units, modes):
    case = create_case(units=units)
    to_meeting(db_session, registry, parties.region_user, case, now)
    hold(db_session, registry, parties.region_user, case, now + timedelta(minutes=5), modes)
    return case


def test_region_care_unit_records_xu045_and_municipality_care_unit_au124(
    db_session, registry, parties, create_case, now, care_municipality
):
    case = _held(
        db_session,
        registry,
        parties,
        create_case,
        now,
        [care_municipality.id, parties.municipality.id],
        {parties.region.id: "on_site", care_municipality.id: "on_site", parties.municipality.id: "on_site"},
    )
    # The social services unit is not health care: it records nothing.
    assert codes_by_unit(db_session, case) == {(parties.region.id, "XU045"), (care_municipality.id, "AU124")}


def test_a_units_own_code_wins_over_its_organisation_kinds(db_session, registry, parties, create_case, now):
    with unit_of_work(db_session):
        db_session.add(CodeAssignment(unit_id=parties.region.id, code="AU124"))
    case = _held(
        db_session,
        registry,
        parties,
        create_case,
        now,
        [parties.municipality.id],
        {parties.region.id: "on_site"},
    )
    assert codes_by_unit(db_session, case) == {(parties.region.id, "AU124")}


def test_video_adds_the_distance_code_and_absent_units_record_nothing(
    db_session, registry, parties, create_case, now, care_municipality
):
    case = _held(
        db_session,
        registry,
        parties,
        create_case,
        now,
        [care_municipality.id, parties.municipality.id],
        {parties.region.id: "video", care_municipality.id: "absent", parties.municipality.id: "video"},
    )
    assert codes_by_unit(db_session, case) == {(parties.region.id, "XU045"), (parties.region.id, "ZV051")}
    kinds = {r.code: r.kind for r in records(db_session, case)}
    assert kinds == {"XU045": "sip", "ZV051": "distance"}


def test_a_retired_code_is_not_recorded(db_session, registry, parties, create_case, now):
    with unit_of_work(db_session):
        for code in ("XU045", "ZV051"):
            definition = db_session.get(CodeDefinition, code)
            definition.retired_at = now
            db_session.add(definition)
    case = _held(
        db_session,
        registry,
        parties,
        create_case,
        now,
        [parties.municipality.id],
        {parties.region.id: "video"},
    )
    assert records(db_session, case) == []


def test_no_assignment_means_no_sip_code(db_session, registry, parties, create_case, now):
    with unit_of_work(db_session):
        db_session.exec(CodeAssignment.__table__.delete())
    case = _held(
        db_session,
        registry,
        parties,
        create_case,
        now,
        [parties.municipality.id],
        {parties.region.id: "phone"},
    )
    assert records(db_session, case) == []


def test_records_keep_the_persons_municipality_sex_and_age_of_the_meeting_day(
    db_session, registry, parties, create_case, now
):
    case = _held(
        db_session,
        registry,
        parties,
        create_case,
        now,
        [parties.municipality.id],
        {parties.region.id: "on_site"},
    )
    (record,) = records(db_session, case)
    person = case.person_id
    meeting = db_session.exec(select(Meeting).where(Meeting.case_id == case.id)).one()
    assert record.person_id == person
    assert record.municipality_code == "0780"
    assert record.legal_sex in ("female", "male")
    # make_person's person is born 1990-05-17; the meeting is in November 2026.
    assert record.age_years == 36
    assert record.held_on.isoformat() == "2026-11-02"
    assert (record.meeting_id, record.meeting_kind, record.occasion) == (meeting.id, "first", "other_need")
    assert (record.organisation_kind, record.sign, record.recorded_by_user_id) == (
        "region",
        1,
        parties.region_user.id,
    )


def test_a_reversal_removes_the_count_and_edits_nothing(db_session, registry, parties, create_case, now):
    case = _held(
        db_session,
        registry,
        parties,
        create_case,
        now,
        [parties.municipality.id],
        {parties.region.id: "video"},
    )
    before = [r.model_dump() for r in records(db_session, case)]
    meeting = db_session.exec(select(Meeting).where(Meeting.case_id == case.id)).one()
    standing = select(func.count()).select_from(
        standing_records().where(CodeRecord.case_id == case.id).subquery()
    )
    assert db_session.exec(standing).one() == 2
    with unit_of_work(db_session):
        reversals = reverse_now(db_session, meeting, parties.region_user, "Registrerat i fel", now)
    assert {(r.sign, r.code, r.reason) for r in reversals} == {
        (-1, "XU045", "Registrerat i fel"),
        (-1, "ZV051", "Registrerat i fel"),
    }
    after = records(db_session, case)
    assert [r.model_dump() for r in after[:2]] == before  # the records themselves are untouched
    assert db_session.exec(standing).one() == 0
    assert sum(r.sign for r in after) == 0
    with pytest.raises(Conflict), unit_of_work(db_session):
        reverse_now(db_session, meeting, parties.region_user, "Igen", now)


def test_the_registerutdrag_lists_the_codes_and_their_reversals(
    db_session, registry, parties, create_case, now
):
    case = _held(
        db_session,
        registry,
        parties,
        create_case,
        now,
        [parties.municipality.id],
        {parties.region.id: "video"},
    )
    meeting = db_session.exec(select(Meeting).where(Meeting.case_id == case.id)).one()
    with unit_of_work(db_session):
        reverse_now(db_session, meeting, parties.region_user, "Registrerat i fel", now)
    exported = person_export(db_session, case.person_id, now=now)["cases"][0]["codes"]
    assert sorted((c["code"], c["sign"], c["reason"]) for c in exported) == [
        ("XU045", -1, "Registrerat i fel"),
        ("XU045", 1, None),
        ("ZV051", -1, "Registrerat i fel"),
        ("ZV051", 1, None),
    ]
    first = exported[0]
    assert first["unit"] == parties.region.name
    assert first["held_on"] == meeting.held_at.date().isoformat()
    assert {c["reverses_id"] for c in exported if c["sign"] == -1} == {
        c["id"] for c in exported if c["sign"] == 1
    }


def test_a_reversal_needs_a_reason(db_session, registry, parties, create_case, now):
    case = _held(
        db_session,
        registry,
        parties,
        create_case,
        now,
        [parties.municipality.id],
        {parties.region.id: "on_site"},
    )
    meeting = db_session.exec(select(Meeting).where(Meeting.case_id == case.id)).one()
    with pytest.raises(InvalidInput) as refused, unit_of_work(db_session):
        reverse_now(db_session, meeting, parties.region_user, "   ", now)
    assert refused.value.field == "reason"
    assert len(records(db_session, case)) == 1


def test_the_rule_takes_each_unit_once_and_skips_people_without_a_unit():
    region = UnitFacts(1, 10, "region", True)
    social = UnitFacts(2, 20, "municipality", False)
    catalogue = Catalogue(by_organisation_kind={"region": "XU045"}, distance=("ZV051",))
    choices = codes_for_meeting(
        [(region, "on_site"), (region, "video"), (social, "video"), (None, "video")], catalogue
    )
    assert sorted((c.unit.unit_id, c.code) for c in choices) == [(1, "XU045"), (1, "ZV051")]


def test_age_counts_whole_years_and_an_unknown_birth_date_is_none():
    from datetime import date

    assert age_on(date(2000, 3, 1), date(2026, 2, 28)) == 25
    assert age_on(date(2000, 3, 1), date(2026, 3, 1)) == 26
    assert age_on(None, date(2026, 3, 1)) is None
