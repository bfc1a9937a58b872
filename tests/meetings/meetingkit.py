"""Helpers for the meeting tests: firing steps, times a week ahead, the participants of a ready SIP."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import support
from sqlmodel import select

from sipflow.cases.models import Participant, SipCase
from sipflow.clock import local_to_utc, now_utc, to_local
from sipflow.meetings.models import Invitation, Meeting


@dataclass
class Ready:
    """A case in state preparing, its participants by role, and the users of the two organisations."""

    case: SipCase
    region: Participant
    municipality: Participant
    person: Participant
    relative: Participant
    relative_without_email: Participant


def fire(db_session, registry, actor, case, trigger, *, now=None, **data):
    """Fire trigger with the scripted input for its form, overridden by data; commit (sipflow's clock)."""
    return support.fire(db_session, registry, actor, case, trigger, now=now or now_utc(), **data)


def next_week_at(hour: int, minute: int = 0) -> datetime:
    """A local wall-clock time a week ahead, as aware UTC."""
    day = to_local(now_utc()).date() + timedelta(days=7)
    return local_to_utc(datetime(day.year, day.month, day.day, hour, minute))


def everyone(ready: Ready) -> list[int]:
    """Every participant's id."""
    return [
        p.id
        for p in (
            ready.region,
            ready.municipality,
            ready.person,
            ready.relative,
            ready.relative_without_email,
        )
    ]


def invitation_of(db_session, meeting: Meeting, participant: Participant) -> Invitation:
    """The meeting's invitation of participant."""
    db_session.expire_all()
    return db_session.exec(
        select(Invitation).where(
            Invitation.meeting_id == meeting.id, Invitation.participant_id == participant.id
        )
    ).one()
