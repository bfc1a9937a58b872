"""Helpers for the coding tests: a SIP taken to its meeting and held with the attendance given."""

from __future__ import annotations

import support
from sqlmodel import select

from sipflow.cases.models import Participant
from sipflow.coding.models import CodeRecord
from sipflow.coding.queries import meeting_codes
from sipflow.coding.services import reverse_meeting_codes


def to_meeting(db_session, registry, actor, case, now):
    """Give consent, prepare and send the kallelse (a meeting booked a week ahead)."""
    for trigger in ("give_consent", "start_preparation", "send_kallelse"):
        support.fire(db_session, registry, actor, case, trigger, now=now)


def organisation_participants(db_session, case) -> dict[int, Participant]:
    """The case's organisation participants by unit id."""
    rows = db_session.exec(
        select(Participant).where(Participant.case_id == case.id, Participant.kind == "organisation")
    ).all()
    return {p.unit_id: p for p in rows}


def hold(db_session, registry, actor, case, now, modes: dict[int, str]):
    """Record the meeting as held with modes (unit id -> attendance mode; the others absent)."""
    by_unit = organisation_participants(db_session, case)
    attendance = {p.id: modes.get(unit_id, "absent") for unit_id, p in by_unit.items()}
    return support.fire(db_session, registry, actor, case, "hold_meeting", now=now, attendance=attendance)


def records(db_session, case) -> list[CodeRecord]:
    """Every code record of case, by id."""
    db_session.expire_all()
    return list(
        db_session.exec(select(CodeRecord).where(CodeRecord.case_id == case.id).order_by(CodeRecord.id))
    )


def codes_by_unit(db_session, case) -> set[tuple[int, str]]:
    """(unit id, code) of every record of case."""
    return {(r.unit_id, r.code) for r in records(db_session, case) if r.sign == 1}


def last_id(db_session, meeting) -> int | None:
    """The meeting's newest record id, as a correction form read now carries it."""
    db_session.expire_all()
    return meeting_codes(db_session, meeting.id).last_id


def reverse_now(db_session, meeting, actor, reason: str, now):
    """Reverse the meeting's codes from a correction page read just now (its last record id as it is)."""
    return reverse_meeting_codes(
        db_session, meeting, actor, reason, now, expected_last_id=last_id(db_session, meeting)
    )
