"""The migration that settles meeting kinds: a SIP recorded with two held first meetings keeps the one held
first as its first meeting, and the other's code records are reversed and recorded again as a follow-up."""

from __future__ import annotations

from migrationkit import a_case, a_person, upgraded_from
from sqlalchemy import text

from sipflow.coding.models import KIND_CORRECTED

BEFORE = "b3c5d7e9f1a4"
_MEETING = (
    "INSERT INTO meeting (id, case_id, uid, sequence, kind, status, mode, starts_at, ends_at, held_at, "
    "moved) VALUES ({id}, {case}, 'u{id}', 0, '{kind}', '{status}', 'on_site', '{starts}', '{starts}', "
    "{held}, 0)"
)
_RECORD = (
    "INSERT INTO code_record (id, case_id, meeting_id, unit_id, organisation_id, code, kind, sign, held_on, "
    "meeting_kind, person_id, municipality_code, legal_sex, age_years, occasion, organisation_kind, "
    "recorded_at) VALUES ({id}, {case}, {meeting}, 5, 7, 'XU045', 'sip', 1, '{day}', 'first', 1, '0780', "
    "'female', 40, 'other', 'region', '{day} 12:00:00.000000')"
)


def _meeting(id_, case, kind, status, starts, held=True):
    held_at = f"'{starts}'" if held else "NULL"
    return _MEETING.format(id=id_, case=case, kind=kind, status=status, starts=starts, held=held_at)


def test_two_held_first_meetings_become_one_first_and_the_others_codes_are_corrected(tmp_path):
    rows = [
        "INSERT INTO organisation (id, key, name, kind) VALUES (7, 'o7', 'Region Kronoberg', 'region')",
        "INSERT INTO unit (id, key, organisation_id, name, is_health_care) VALUES (5, 'u5', 7, 'VC', 1)",
        a_person("2026-10-01"),
        a_case(1, state="follow_up", occasion="other", initiator=7, day="2026-10-01"),
        a_case(2, state="follow_up", occasion="other", initiator=7, day="2026-10-01"),
        # Case 1: meeting 10 booked first, 11 booked before it was held and held first; both stored 'first'.
        _meeting(10, 1, "first", "held", "2026-10-20 09:00:00.000000"),
        _meeting(11, 1, "first", "held", "2026-10-12 09:00:00.000000"),
        _meeting(12, 1, "first", "cancelled", "2026-10-15 09:00:00.000000", held=False),
        _RECORD.format(id=100, case=1, meeting=10, day="2026-10-20"),
        _RECORD.format(id=101, case=1, meeting=11, day="2026-10-12"),
        # Case 2 is right as it is: one first meeting, a follow-up after it, one booked.
        _meeting(20, 2, "first", "held", "2026-10-05 09:00:00.000000"),
        _meeting(21, 2, "follow_up", "held", "2026-10-25 09:00:00.000000"),
        _meeting(22, 2, "follow_up", "planned", "2026-11-25 09:00:00.000000", held=False),
        _RECORD.format(id=200, case=2, meeting=20, day="2026-10-05"),
    ]
    with upgraded_from(tmp_path, BEFORE, rows) as connection:
        kinds = connection.execute(text("SELECT id, kind FROM meeting ORDER BY id")).all()
        assert kinds == [
            (10, "follow_up"),
            (11, "first"),
            (12, "follow_up"),
            (20, "first"),
            (21, "follow_up"),
            (22, "follow_up"),
        ]
        records = connection.execute(
            text(
                "SELECT id, meeting_id, sign, reverses_id, meeting_kind, reason, held_on, "
                "recorded_by_user_id FROM code_record ORDER BY id"
            )
        ).all()
        assert [tuple(r[1:]) for r in records] == [
            (10, 1, None, "first", None, "2026-10-20", None),
            (11, 1, None, "first", None, "2026-10-12", None),
            (20, 1, None, "first", None, "2026-10-05", None),
            (10, 1, None, "follow_up", None, "2026-10-20", None),
            (10, -1, 100, "first", KIND_CORRECTED, "2026-10-20", None),
        ]
