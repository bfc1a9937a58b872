"""Helpers for the meeting tests: firing steps, times a week ahead, the participants of a ready SIP."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage

import support
from icalendar import Calendar, Event, vCalAddress
from sqlmodel import select

from sipflow.cases.models import Participant, SipCase
from sipflow.clock import local_to_utc, now_utc, to_local
from sipflow.meetings.models import Invitation, Meeting

# The /itip/reply secret the itip_secret fixture configures (what the mail server is given).
ITIP_SECRET = "test-itip-reply-secret-0123456789abcdef"


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


def reply_ics(
    uid: str,
    email: str,
    *,
    partstat="ACCEPTED",
    sequence: int | None = 0,
    comment=None,
    dtstamp: datetime | None = None,
) -> bytes:
    """A REPLY as Outlook or Google Calendar sends it back to the organizer."""
    calendar = Calendar()
    calendar.add("prodid", "-//Microsoft Corporation//Outlook 16.0 MIMEDIR//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "REPLY")
    event = Event()
    event.add("uid", uid)
    if sequence is not None:
        event.add("sequence", sequence)
    event.add("dtstamp", dtstamp or now_utc())
    attendee = vCalAddress(f"MAILTO:{email.upper()}")
    attendee.params["PARTSTAT"] = partstat
    event.add("attendee", attendee)
    event.add("organizer", vCalAddress("mailto:sip@sipflow.localhost"))
    if comment:
        event.add("comment", comment)
    calendar.add_component(event)
    return calendar.to_ical()


def reply_mail(ics: bytes | None, *, sender: str = "eva.andersson@example.se", **headers) -> bytes:
    """The mail a calendar client sends the organizer when the invitee presses Accept (ics None: plain)."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "sip@sipflow.localhost"
    message["Subject"] = "Accepterat: SIP-möte" if ics else "Sv: SIP-möte"
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content("Eva har accepterat." if ics else "Jag kan inte komma, ring mig.")
    if ics:
        message.add_alternative(ics, maintype="text", subtype="calendar", params={"method": "REPLY"})
    return message.as_bytes()


def offered_invitees(page: str) -> set[str]:
    """The participant ids the meeting page's "Invite more" offers (its checkboxes, ticked or not)."""
    boxes = re.findall(r'<input[^>]*name="invite-invitee_ids"[^>]*>', page)
    return {re.search(r'value="(\d+)"', box).group(1) for box in boxes}
