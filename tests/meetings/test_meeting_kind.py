"""A meeting recorded as held without a booking is the case's first meeting, or a follow-up after one."""

from datetime import timedelta

import pytest
import support
from sqlmodel import select

from sipflow.cases.scripted import scripted_input
from sipflow.errors import InvalidInput
from sipflow.meetings.models import Meeting


def _fire(db_session, registry, parties, case, trigger, at, **data):
    form = registry.get(case.workflow_name, case.workflow_version).transition(case.state, trigger).form
    data = scripted_input(db_session, case, form, at) | data
    with support.statements(db_session.get_bind()) as seen:
        support.fire(db_session, registry, parties.region_user, case, trigger, now=at, data=data)
    return seen


def _held_kinds(db_session, case) -> list[str]:
    meetings = db_session.exec(select(Meeting).where(Meeting.case_id == case.id).order_by(Meeting.id))
    return [m.kind for m in meetings.all()]


def _meeting_reads(statements: list[str]) -> list[str]:
    return [s for s in statements if s.lstrip().upper().startswith("SELECT MEETING.")]


def test_an_unbooked_first_meeting_is_first_and_its_follow_up_a_follow_up(
    db_session, registry, parties, create_case, now
):
    case = create_case("sip")
    at = now
    for trigger in ("give_consent", "start_preparation"):
        at += timedelta(minutes=1)
        _fire(db_session, registry, parties, case, trigger, at)
    # The kallelse went through another system with no meeting booked: the outcome records a new meeting.
    at += timedelta(minutes=1)
    _fire(db_session, registry, parties, case, "send_kallelse", at, meeting_starts_at=None)
    assert _held_kinds(db_session, case) == []
    for trigger in ("hold_meeting", "establish_plan", "follow_up"):
        at += timedelta(minutes=1)
        seen = _fire(db_session, registry, parties, case, trigger, at)
        if trigger in ("hold_meeting", "follow_up"):
            # The outcome input's read of the case's meetings tells first from follow-up: not read again.
            assert len(_meeting_reads(seen)) == 1, _meeting_reads(seen)
    assert _held_kinds(db_session, case) == ["first", "follow_up"]


def test_a_follow_up_cannot_have_been_held_before_the_meeting_it_follows(
    db_session, registry, parties, create_case, now
):
    case = create_case("sip")
    at = now
    for trigger in ("give_consent", "start_preparation"):
        at += timedelta(minutes=1)
        _fire(db_session, registry, parties, case, trigger, at)
    at += timedelta(minutes=1)
    _fire(db_session, registry, parties, case, "send_kallelse", at, meeting_starts_at=None)
    for trigger in ("hold_meeting", "establish_plan"):
        at += timedelta(minutes=1)
        _fire(db_session, registry, parties, case, trigger, at)
    first_held = db_session.exec(select(Meeting.held_at).where(Meeting.case_id == case.id)).one()
    with pytest.raises(InvalidInput) as refused:
        _fire(db_session, registry, parties, case, "follow_up", at, held_at=first_held - timedelta(minutes=2))
    assert refused.value.field == "held_at"
    assert _held_kinds(db_session, case) == ["first"]
