"""A SIP has one first meeting: the one held first, whichever was booked first.

Its kind is settled when a meeting is recorded as held (meetings.services.settle_meeting_kinds): the meeting,
its code records net of reversals and the statistics' first meetings agree on it.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import support
from codingkit import organisation_participants, records, to_meeting
from sqlmodel import select

from sipflow.clock import to_local
from sipflow.coding.models import KIND_CORRECTED, CodeRecord
from sipflow.coding.services import follow_meeting_kind
from sipflow.db import unit_of_work
from sipflow.meetings import services
from sipflow.meetings.models import Meeting
from sipflow.stats.services import lead_time_histograms, meeting_indicators, parse_query, settings_from

pytestmark = pytest.mark.usefixtures("catalogue")


def _outcome(db_session, registry, parties, case, trigger, meeting, at):
    """Record meeting as held at at (moved there), the region unit on site, the others absent."""
    attendance = {
        p.id: "on_site" if unit_id == parties.region.id else "absent"
        for unit_id, p in organisation_participants(db_session, case).items()
    }
    support.fire(
        db_session,
        registry,
        parties.region_user,
        case,
        trigger,
        now=at,
        meeting_id=meeting.id,
        held_at=at,
        moved=True,
        attendance=attendance,
    )


def _kinds(db_session, case) -> dict[int, str]:
    db_session.expire_all()
    return {m.id: m.kind for m in db_session.exec(select(Meeting).where(Meeting.case_id == case.id))}


def _net_kinds(db_session, case) -> dict[tuple[int, str], int]:
    """(meeting id, meeting kind) -> the SIP code records counting with that kind, net of reversals."""
    net: dict[tuple[int, str], int] = {}
    for record in records(db_session, case):
        if record.kind == "sip":
            key = (record.meeting_id, record.meeting_kind)
            net[key] = net.get(key, 0) + record.sign
    return {key: count for key, count in net.items() if count}


def _first_meetings(db_session, app, registry, now) -> tuple[int, int, int]:
    """The statistics' (SIPs, first meetings, request -> first meeting lead times) of the test's year."""
    query = parse_query(db_session, start="2026-01-01", end="2026-12-31", now=now + timedelta(days=30))
    settings = settings_from(app.config, registry)
    rows, _ = meeting_indicators(db_session, query, settings)
    (row,) = rows
    lead = lead_time_histograms(db_session, query, settings)["request_to_first"]
    lead_count = sum(len(group["days"]) for group in lead.values())
    return row["sips"], row["first"], lead_count


def test_the_second_booked_held_first_is_the_one_first_meeting(
    db_session, app, registry, parties, create_case, now
):
    case = create_case()
    # The kallelse books meeting a week ahead; a second meeting is booked before it, for in three days.
    to_meeting(db_session, registry, parties.region_user, case, now)
    (booked_first,) = db_session.exec(select(Meeting).where(Meeting.case_id == case.id)).all()
    starts = booked_first.starts_at - timedelta(days=4)
    with unit_of_work(db_session):
        second_id = services.book(
            db_session,
            registry,
            parties.region_user,
            case,
            {
                "meeting_starts_at": starts,
                "meeting_ends_at": starts + timedelta(hours=1),
                "mode": "video",
                "invitee_ids": [p.id for p in organisation_participants(db_session, case).values()],
            },
            expected_version=case.version,
            now=now,
        )
    booked_second = db_session.get(Meeting, second_id)
    # Neither is held yet: both are booked as what would be the first meeting.
    assert set(_kinds(db_session, case).values()) == {"first"}

    _outcome(
        db_session, registry, parties, case, "hold_meeting", booked_second, starts + timedelta(minutes=5)
    )
    assert _kinds(db_session, case) == {booked_second.id: "first", booked_first.id: "follow_up"}
    support.fire(
        db_session, registry, parties.region_user, case, "establish_plan", now=starts + timedelta(minutes=10)
    )
    later = booked_first.starts_at + timedelta(minutes=5)
    _outcome(db_session, registry, parties, case, "follow_up", booked_first, later)

    assert _kinds(db_session, case) == {booked_second.id: "first", booked_first.id: "follow_up"}
    assert _net_kinds(db_session, case) == {(booked_second.id, "first"): 1, (booked_first.id, "follow_up"): 1}
    # Two SIP meetings, one of them the first, and one lead time from the request to the first meeting.
    assert _first_meetings(db_session, app, registry, now) == (2, 1, 1)


def test_a_held_meetings_codes_follow_its_kind_by_reversal_and_are_recorded_again(
    db_session, app, registry, parties, create_case, now
):
    """Data from before the rule (two held first meetings): settling the kinds reverses the records that
    count with the old kind and records them again with the new, the old records kept."""
    case = create_case()
    to_meeting(db_session, registry, parties.region_user, case, now)
    (meeting,) = db_session.exec(select(Meeting).where(Meeting.case_id == case.id)).all()
    at = meeting.starts_at + timedelta(minutes=5)
    _outcome(db_session, registry, parties, case, "hold_meeting", meeting, at)
    before = records(db_session, case)
    assert [(r.meeting_kind, r.sign) for r in before if r.kind == "sip"] == [("first", 1)]
    # Another meeting was held before it, so it turns out a follow-up.
    with unit_of_work(db_session):
        meeting.kind = "follow_up"
        db_session.add(meeting)
        follow_meeting_kind(db_session, meeting, actor=parties.region_user, now=at + timedelta(days=1))
        # Nothing left counting with another kind: a second call writes nothing.
        assert follow_meeting_kind(db_session, meeting, actor=parties.region_user, now=at) == []
    after = [r for r in records(db_session, case) if r.kind == "sip"]
    assert [(r.meeting_kind, r.sign, r.reverses_id, r.reason) for r in after] == [
        ("first", 1, None, None),
        ("first", -1, after[0].id, KIND_CORRECTED),
        ("follow_up", 1, None, None),
    ]
    assert (after[2].held_on, after[2].unit_id) == (after[0].held_on, after[0].unit_id)
    assert after[0].held_on == to_local(at).date() and isinstance(after[0].held_on, date)
    standing = select(CodeRecord).where(
        CodeRecord.case_id == case.id, CodeRecord.kind == "sip", CodeRecord.standing()
    )
    assert db_session.exec(standing).all() == [after[2]]
    assert _first_meetings(db_session, app, registry, now)[:2] == (1, 0)


def test_a_meeting_held_after_data_with_two_first_meetings_corrects_the_later_ones_codes(
    db_session, app, registry, parties, create_case, now
):
    """Recorded before the rule: a held meeting stored 'first' before the coded first meeting. The next
    meeting held settles the kinds, and the step reverses and records again the codes that changed."""
    case = create_case()
    to_meeting(db_session, registry, parties.region_user, case, now)
    (coded,) = db_session.exec(select(Meeting).where(Meeting.case_id == case.id)).all()
    at = coded.starts_at + timedelta(minutes=5)
    _outcome(db_session, registry, parties, case, "hold_meeting", coded, at)
    earlier = coded.starts_at - timedelta(days=2)
    with unit_of_work(db_session):
        older = Meeting(
            case_id=case.id, kind="first", status="held", mode="on_site", starts_at=earlier, ends_at=earlier
        )
        older.held_at = earlier
        db_session.add(older)
    support.fire(db_session, registry, parties.region_user, case, "establish_plan", now=at)
    later = at + timedelta(days=1)
    _outcome(
        db_session,
        registry,
        parties,
        case,
        "follow_up",
        _book(db_session, registry, parties, case, later),
        later,
    )
    kinds = _kinds(db_session, case)
    assert (kinds[older.id], kinds[coded.id]) == ("first", "follow_up")
    assert list(kinds.values()).count("first") == 1
    assert _net_kinds(db_session, case) == {(coded.id, "follow_up"): 1, (max(kinds), "follow_up"): 1}
    reversal = next(r for r in records(db_session, case) if r.sign == -1)
    assert (reversal.meeting_id, reversal.meeting_kind, reversal.reason) == (
        coded.id,
        "first",
        KIND_CORRECTED,
    )


def _book(db_session, registry, parties, case, at) -> Meeting:
    """A further meeting booked at at (a day without a weekend warning: the test's days are weekdays)."""
    with unit_of_work(db_session):
        meeting_id = services.book(
            db_session,
            registry,
            parties.region_user,
            case,
            {
                "meeting_starts_at": at + timedelta(hours=1),
                "meeting_ends_at": at + timedelta(hours=2),
                "mode": "video",
                "invitee_ids": [p.id for p in organisation_participants(db_session, case).values()],
            },
            expected_version=case.version,
            now=at,
        )
    return db_session.get(Meeting, meeting_id)
