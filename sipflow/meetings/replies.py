"""Applying an iTIP REPLY: find the meeting by UID and the invitee by address, and check the SEQUENCE."""

from __future__ import annotations

import email
import email.policy
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import func
from sqlmodel import Session, select

from sipflow.cases.errors import CaseError
from sipflow.meetings import services
from sipflow.meetings.ical import Reply
from sipflow.meetings.models import Invitation, Meeting

CALENDAR_TYPES = ("text/calendar", "application/ics")


def extract_calendar(data: bytes) -> bytes:
    """The calendar object in data: data itself, or the calendar part of an e-mail (a client's reply mail)."""
    if data.lstrip()[:15].upper() == b"BEGIN:VCALENDAR":
        return data
    message = email.message_from_bytes(data, policy=email.policy.default)
    for part in message.walk():
        if part.get_content_type() in CALENDAR_TYPES:
            payload = part.get_payload(decode=True)
            if payload:
                return payload
    return data


class ReplyRefused(Exception):
    """A well-formed REPLY that cannot be applied; nothing was changed."""

    def __init__(self, code: str, message, status: int):
        super().__init__(code)
        self.code, self.message, self.status = code, message, status


def apply_reply(session: Session, reply: Reply, *, now: datetime) -> Invitation:
    """Record the answer a REPLY carries; ReplyRefused when the meeting, invitee or version does not match."""
    meeting = session.exec(select(Meeting).where(Meeting.uid == reply.uid)).first()
    if meeting is None:
        raise ReplyRefused("unknown_uid", _l("No meeting has that UID."), 404)
    invitation = session.exec(
        select(Invitation).where(
            Invitation.meeting_id == meeting.id,
            func.lower(Invitation.email) == reply.attendee_email.lower(),
            Invitation.removed_at.is_(None),
        )
    ).first()
    if invitation is None:
        raise ReplyRefused("unknown_attendee", _l("That address is not invited to the meeting."), 404)
    if reply.sequence < invitation.sequence:
        raise ReplyRefused(
            "outdated_sequence",
            _l("The reply answers an older version of the invitation; the meeting has changed since."),
            409,
        )
    if reply.sequence > meeting.sequence:
        raise ReplyRefused(
            "unknown_sequence", _l("The reply names a version of the meeting never sent."), 409
        )
    try:
        services.record_answer(
            session,
            meeting,
            invitation,
            partstat=reply.partstat,
            # A calendar answer says nothing of how; keep what the invitee said through the link, if anything.
            answer_mode=invitation.answer_mode if reply.partstat != "DECLINED" else None,
            comment=(reply.comment or "")[: services.COMMENT_MAX] or None,
            via="itip",
            now=now,
        )
    except CaseError as error:
        raise ReplyRefused(
            error.code if error.code != "invalid" else "not_answerable", error.message, 409
        ) from None
    return invitation
