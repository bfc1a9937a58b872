"""Calendar replies that come back by mail: find the meeting by UID and the invitee by address, check the
sender and the SEQUENCE, apply answers in DTSTAMP order, and hand any other mail on to a person.

`receive` is the one entry for both the mail server's POST /itip/reply and `sipflow itip reply`. What it
tells its caller about a REPLY depends only on the input, never on who is invited to what: one that names
an unknown meeting or invitee is ignored exactly like one that is out of date.
"""

from __future__ import annotations

import email
import email.policy
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import Message

from sqlalchemy import func
from sqlmodel import Session, select

from sipflow.cases import fields
from sipflow.errors import UserError
from sipflow.meetings import services
from sipflow.meetings.forwarding import forward_mail, is_our_own, sender_of
from sipflow.meetings.ical import Reply, ReplyError, parse_reply
from sipflow.meetings.models import Invitation, Meeting
from sipflow.translated import lazy_gettext as _l

log = logging.getLogger(__name__)
CALENDAR_TYPES = ("text/calendar", "application/ics")
REPLY_MAX_BYTES = 256_000
# A whole mail handed on may carry attachments; Postfix refuses larger ones by default anyway.
MAIL_MAX_BYTES = 10_000_000


def read_incoming(data: bytes) -> tuple[bytes, Message | None]:
    """The calendar data in data and, when data is a whole e-mail, that e-mail (else None)."""
    if data.lstrip()[:15].upper() == b"BEGIN:VCALENDAR":
        return data, None
    # compat32 keeps headers as the sender wrote them: no header object that could fail to parse later.
    message = email.message_from_bytes(data, policy=email.policy.compat32)
    if not message.keys():
        return data, None  # no header at all: not an e-mail; parse_reply says what is wrong with it
    for part in message.walk():
        if part.get_content_type() in CALENDAR_TYPES:
            payload = part.get_payload(decode=True)
            if payload:
                return payload, message
    return b"", message


@dataclass(frozen=True)
class Outcome:
    """What became of a mail: recorded, ignored (reason) or forwarded to a person (reason)."""

    action: str
    reason: str | None = None
    uid: str | None = None
    sequence: int | None = None
    invitation: Invitation | None = None


def receive(session: Session, data: bytes, *, now: datetime) -> Outcome:
    """Apply the REPLY in data, or forward a mail that is none; ReplyError for a bare object that is none.

    Raises forwarding.NoMailbox when a mail should reach a person but no mailbox is known.
    """
    calendar, mail = read_incoming(data)
    try:
        reply = parse_reply(calendar, max_bytes=REPLY_MAX_BYTES)
    except ReplyError as error:
        if mail is None:
            raise
        return _hand_on(session, data, mail, error.code, meeting=None, now=now)
    if mail is not None and sender_of(mail) != reply.attendee_email:
        # Anyone can write any ATTENDEE into a calendar object: only the invitee's own mail answers for
        # them. A person still sees it (an assistant answering for someone, an alias).
        meeting = session.exec(select(Meeting).where(Meeting.uid == reply.uid)).first()
        return _hand_on(session, data, mail, "sender_mismatch", meeting=meeting, now=now)
    try:
        invitation = apply_reply(session, reply, now=now)
    except ReplyRefused as error:
        log.info("itip reply ignored: %s", error.code)
        return Outcome("ignored", error.code, reply.uid, reply.sequence)
    return Outcome("recorded", None, reply.uid, reply.sequence, invitation)


def _hand_on(session, data: bytes, mail: Message, reason: str, *, meeting, now) -> Outcome:
    if is_our_own(mail):
        log.info("mail to the sender address not forwarded: it is our own (%s)", reason)
        return Outcome("ignored", "own_mail")
    forward_mail(session, data, mail, meeting=meeting, now=now)
    return Outcome("forwarded", reason)


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
    matching = session.exec(
        select(Invitation)
        .where(
            Invitation.meeting_id == meeting.id,
            func.lower(Invitation.email) == reply.attendee_email.lower(),
            Invitation.active,
        )
        .limit(2)
        # Two replies of one invitee at once: the second waits and sees the first one's stamp.
        .with_for_update()
    ).all()
    if len(matching) != 1:
        # Two invitees sharing the address (two guardians, one family address): the REPLY does not say whose
        # answer it is, so it is not recorded on a guess, and is refused as one naming nobody invited.
        raise ReplyRefused("unknown_attendee", _l("That address is not invited to the meeting."), 404)
    invitation = matching[0]
    try:
        # The rule is record_answer's; asked first so that an outdated reply is named as such.
        services.check_answer_sequence(meeting, invitation, reply.sequence)
    except UserError as error:
        raise ReplyRefused(error.code, error.message, error.status) from None
    if _older_than_answer(reply, invitation):
        # Mail can arrive out of order: a reply written before the answer in force does not replace it.
        raise ReplyRefused("older_reply", _l("A later answer of the invitee is already recorded."), 409)
    try:
        services.record_answer(
            session,
            meeting,
            invitation,
            partstat=reply.partstat,
            # A calendar answer says nothing of how; keep what the invitee said through the link, if anything
            # and if the meeting still offers it (a mode it dropped would refuse the whole answer).
            answer_mode=(
                invitation.answer_mode
                if reply.partstat != "DECLINED"
                and invitation.answer_mode in services.allowed_answer_modes(meeting)
                else None
            ),
            # A calendar's comment loses what the answer page would refuse (a control or invisible character)
            # rather than the whole answer being refused for it.
            comment=fields.without_hidden_characters(reply.comment or "")[: services.COMMENT_MAX] or None,
            via="itip",
            now=now,
            # A stamp from a calendar whose clock runs ahead counts as now, or it would outrank later answers.
            dtstamp=min(_utc(reply.dtstamp), _utc(now)) if reply.dtstamp else None,
            sequence=reply.sequence,
        )
    except UserError as error:
        raise ReplyRefused(
            error.code if error.code != "invalid" else "not_answerable", error.message, 409
        ) from None
    return invitation


def _older_than_answer(reply: Reply, invitation: Invitation) -> bool:
    """True when the answer in force answered a later SEQUENCE, or the same one with a later DTSTAMP."""
    if invitation.answered_sequence is None:
        return False
    if reply.sequence != invitation.answered_sequence:
        return reply.sequence < invitation.answered_sequence
    if reply.dtstamp is None or invitation.answered_dtstamp is None:
        return False  # without a stamp there is no order to keep: the later arrival wins
    return _utc(reply.dtstamp) < _utc(invitation.answered_dtstamp)


def _utc(value: datetime) -> datetime:
    # SQLite hands stored UTC back naive.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
