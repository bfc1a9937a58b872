"""A meeting whose codes were reversed and recorded again counts once, where and when it was held."""

from __future__ import annotations

from datetime import date

from sqlmodel import select

from sipflow.cases.models import Participant
from sipflow.coding.models import CodeAssignment, CodeRecord
from sipflow.coding.services import rerecord_meeting_codes
from sipflow.db import unit_of_work
from sipflow.meetings.models import Attendance
from sipflow.stats.services import indicators

EMMABODA, NYBRO = "0862", "0881"


def test_a_meeting_recorded_again_counts_once_in_its_quarter_and_municipality(world):
    world.session.add(CodeAssignment(organisation_kind="region", code="XU045"))
    person = world.person(EMMABODA)
    case = world.case(person)
    # Recorded as video by mistake and reversed; the region unit was there on site.
    meeting = world.meeting(case, date(2026, 2, 10), municipality=EMMABODA, video=True, reversed_=True)
    region = world.session.exec(
        select(Participant).where(Participant.case_id == case.id, Participant.unit_id == world.region.id)
    ).one()
    world.session.add(Attendance(meeting_id=meeting.id, participant_id=region.id, mode="video"))
    # The person has moved since: the meeting still counts where they lived on the meeting day.
    person.home_municipality_code = NYBRO
    world.session.add(person)
    world.session.commit()
    last = world.session.exec(
        select(CodeRecord.id).where(CodeRecord.meeting_id == meeting.id).order_by(CodeRecord.id.desc())
    ).first()
    with unit_of_work(world.session):
        rerecord_meeting_codes(
            world.session,
            case,
            meeting,
            {region.id: "on_site"},
            expected_last_id=last,
            actor=world.user,
            now=world.now,
        )
    settings = world.settings()
    settings.threshold = 1
    answer = indicators(world.session, world.query(end="2026-06-30", by="quarter,municipality"), settings)
    meetings = next(t for t in answer["tables"] if t["key"] == "meetings")
    counted = {
        (r["quarter"], r["municipality"]): (r["sips"], r["video"]) for r in meetings["rows"] if r["sips"]
    }
    assert counted == {("2026 K1", "Emmaboda"): (1, 0)}
    assert (meetings["total"]["sips"], meetings["total"]["persons"]) == (1, 1)
