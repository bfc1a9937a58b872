"""iTIP calendar data for SIP meetings: invitations, cancellations, a subscription feed, reading replies."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from icalendar import (
    Alarm,
    Calendar,
    Event,
    Timezone,
    TimezoneDaylight,
    TimezoneStandard,
    vCalAddress,
    vDDDTypes,
    vDuration,
    vInt,
)

from sipflow.clock import summer_time_in_repeated_hour

PRODID = "-//sipflow//SIP//SV"
TZID = "Europe/Stockholm"
ZONE = ZoneInfo(TZID)
ROLES = ("REQ-PARTICIPANT", "OPT-PARTICIPANT", "NON-PARTICIPANT", "CHAIR")
PARTSTATS = ("NEEDS-ACTION", "ACCEPTED", "DECLINED", "TENTATIVE")
EVENT_STATUSES = ("CONFIRMED", "TENTATIVE", "CANCELLED")
# The answers a REPLY may carry; NEEDS-ACTION (or nothing) is not an answer.
REPLY_PARTSTATS = ("ACCEPTED", "DECLINED", "TENTATIVE")
FEED_TTL = timedelta(hours=1)
REMINDER = timedelta(minutes=30)
MAX_SEQUENCE = 2**31 - 1  # the database column is a 32-bit integer


@dataclass(frozen=True)
class CalendarAttendee:
    """One invitee as written in an ATTENDEE line."""

    email: str
    role: str = "REQ-PARTICIPANT"
    partstat: str = "NEEDS-ACTION"
    rsvp: bool = True
    cn: str | None = None  # omitted when None: private invitees get no name in the calendar

    def __post_init__(self) -> None:
        _check_email(self.email)
        if self.role not in ROLES:
            raise ValueError(f"Unknown ROLE {self.role!r}")
        if self.partstat not in PARTSTATS:
            raise ValueError(f"Unknown PARTSTAT {self.partstat!r}")


@dataclass(frozen=True)
class CalendarEvent:
    """A meeting as calendars see it; the caller's SUMMARY and DESCRIPTION carry no personal data."""

    uid: str
    sequence: int
    starts_at: datetime
    ends_at: datetime
    summary: str
    description: str
    location: str | None
    url: str | None
    organizer_email: str
    organizer_name: str
    attendees: tuple[CalendarAttendee, ...]
    status: str = "CONFIRMED"
    created_at: datetime | None = None
    last_modified: datetime | None = None

    def __post_init__(self) -> None:
        if _utc(self.ends_at) <= _utc(self.starts_at):
            raise ValueError("A meeting must end after it starts")
        if not self.uid or not 0 <= self.sequence <= MAX_SEQUENCE:
            raise ValueError("A calendar event needs a UID and a SEQUENCE of 0 or more")
        if self.status not in EVENT_STATUSES:
            raise ValueError(f"Unknown STATUS {self.status!r}")
        _check_email(self.organizer_email)


def request_ics(event: CalendarEvent, *, now: datetime) -> bytes:
    """An iTIP REQUEST: the invitation, or an update of it when SEQUENCE has been raised."""
    vevent = _vevent(event, now=now, status="CONFIRMED", scheduling=True)
    # A reminder is what a colleague's invitation usually brings; clients may ignore it.
    alarm = Alarm()
    alarm.add("action", "DISPLAY")
    alarm.add("description", event.summary)
    alarm.add("trigger", -REMINDER)
    vevent.add_component(alarm)
    return _calendar("REQUEST", [vevent]).to_ical()


def cancel_ics(event: CalendarEvent, *, now: datetime) -> bytes:
    """An iTIP CANCEL for the whole meeting; the caller raises SEQUENCE before calling."""
    vevent = _vevent(event, now=now, status="CANCELLED", scheduling=True)
    return _calendar("CANCEL", [vevent]).to_ical()


def withdraw_ics(event: CalendarEvent, removed: CalendarAttendee, *, now: datetime, comment: str) -> bytes:
    """An iTIP CANCEL that uninvites one attendee while the meeting goes on; the caller raises SEQUENCE."""
    # RFC 5546 3.2.5: such a CANCEL names the attendees removed and MUST NOT carry STATUS (STATUS:CANCELLED
    # would tell them the whole meeting is off). The calendar entry still goes away in their calendar.
    vevent = _vevent(replace(event, attendees=(removed,)), now=now, status=None, scheduling=True)
    vevent.add("comment", comment)
    return _calendar("CANCEL", [vevent]).to_ical()


def feed_ics(events: Sequence[CalendarEvent], *, name: str, now: datetime) -> bytes:
    """A subscription feed (METHOD:PUBLISH) without any e-mail addresses; cancelled meetings stay, marked."""
    calendar = _calendar("PUBLISH", [_vevent(e, now=now, status=e.status, scheduling=False) for e in events])
    calendar.add("name", name)
    calendar.add("x-wr-calname", name)  # NAME is RFC 7986; Google and Apple read only the X- form
    calendar.add("x-wr-timezone", TZID)
    # RFC 7986 requires the VALUE parameter here; icalendar does not add it by itself.
    calendar.add("refresh-interval", vDuration(FEED_TTL), parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", vDuration(FEED_TTL))  # Outlook's name for REFRESH-INTERVAL
    return calendar.to_ical()


def _calendar(method: str, vevents: list[Event]) -> Calendar:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", method)
    calendar.add_component(_stockholm_vtimezone())
    for vevent in vevents:
        calendar.add_component(vevent)
    return calendar


def _stockholm_vtimezone() -> Timezone:
    """Europe/Stockholm as yearly last-Sunday rules (EU summer time, Sweden's since 1996)."""
    # Written by hand rather than with Timezone.from_tzid(): that lists every change as an RDATE, which
    # Outlook ignores (it then shifts summer-time meetings by an hour), and it puts the start of summer
    # time at 03:00 where RFC 5545 wants 02:00 (local time before the change). This is the form Google
    # Calendar and Outlook send. A test compares it with zoneinfo, so a change in the law fails a test.
    daylight = TimezoneDaylight()
    daylight.add("dtstart", datetime(1996, 3, 31, 2, 0))
    daylight.add("rrule", {"freq": "yearly", "bymonth": 3, "byday": "-1su"})
    daylight.add("tzoffsetfrom", timedelta(hours=1))
    daylight.add("tzoffsetto", timedelta(hours=2))
    daylight.add("tzname", "CEST")
    standard = TimezoneStandard()
    standard.add("dtstart", datetime(1996, 10, 27, 3, 0))
    standard.add("rrule", {"freq": "yearly", "bymonth": 10, "byday": "-1su"})
    standard.add("tzoffsetfrom", timedelta(hours=2))
    standard.add("tzoffsetto", timedelta(hours=1))
    standard.add("tzname", "CET")
    timezone = Timezone()
    timezone.add("tzid", TZID)
    timezone.add("x-lic-location", TZID)
    timezone.add_component(daylight)
    timezone.add_component(standard)
    return timezone


def _vevent(event: CalendarEvent, *, now: datetime, status: str | None, scheduling: bool) -> Event:
    vevent = Event()
    vevent.add("uid", event.uid)
    vevent.add("sequence", event.sequence)
    vevent.add("dtstamp", _utc(now))
    vevent.add("dtstart", _local(event.starts_at))
    vevent.add("dtend", _local(event.ends_at))
    vevent.add("summary", event.summary)
    if event.description:
        vevent.add("description", event.description)
    if event.location:
        vevent.add("location", event.location)
    if event.url:
        vevent.add("url", event.url)
    if event.created_at:
        vevent.add("created", _utc(event.created_at))
    if event.last_modified:
        vevent.add("last-modified", _utc(event.last_modified))
    if status is not None:
        vevent.add("status", status)
    # PRIVATE: someone looking at a shared calendar sees "busy", not what the care meeting is about.
    vevent.add("class", "PRIVATE")
    # A cancelled meeting (or one the recipient is withdrawn from) should not block the time in free/busy.
    vevent.add("transp", "OPAQUE" if status in ("CONFIRMED", "TENTATIVE") else "TRANSPARENT")
    if scheduling:
        vevent.add("organizer", vCalAddress.new(event.organizer_email, cn=_param_text(event.organizer_name)))
        for attendee in event.attendees:
            vevent.add("attendee", _attendee(attendee))
    return vevent


def _attendee(attendee: CalendarAttendee) -> vCalAddress:
    address = vCalAddress.new(
        attendee.email,
        role=attendee.role,
        partstat=attendee.partstat,
        rsvp=attendee.rsvp,
        cutype="INDIVIDUAL",
    )
    if attendee.cn:
        address.params["CN"] = _param_text(attendee.cn)
    return address


def _local(moment: datetime) -> datetime:
    """Stockholm wall-clock time (DTSTART;TZID=...), which is what Outlook shows and moves correctly."""
    # The hour repeated when summer time ends cannot be told apart by wall clock (RFC 5545 means the first,
    # Thunderbird and Evolution take the second): write UTC for both occurrences of it.
    if summer_time_in_repeated_hour(_utc(moment)) is not None:
        return _utc(moment)
    return _utc(moment).astimezone(ZONE)


def _param_text(value: str) -> str:
    """A name fit for a CN parameter: Outlook does not decode RFC 6868 escapes, so avoid needing them."""
    return " ".join(value.replace('"', "'").replace("^", " ").split())


def _utc(value: datetime) -> datetime:
    """The moment as aware UTC; naive means UTC."""
    # The database stores UTC and SQLite hands it back naive (the register extract and the audit log
    # read it the same way); taking naive as the server's local time would move meetings.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _check_email(email: str) -> None:
    bad = any(c.isspace() or not c.isprintable() or c in '<>"' for c in email)
    if bad or "@" not in email or email.lower().startswith("mailto:"):
        raise ValueError(f"Not a plain e-mail address: {email!r}")


@dataclass(frozen=True)
class Reply:
    """An invitee's answer read from an iTIP REPLY."""

    uid: str
    sequence: int
    attendee_email: str
    partstat: str
    comment: str | None
    dtstamp: datetime | None


class ReplyError(ValueError):
    """Why a REPLY cannot be used; .code is a short machine word, str() is an English sentence."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def parse_reply(data: bytes | str, *, max_bytes: int = 256_000) -> Reply:
    """Read the answer in an iTIP REPLY, or raise ReplyError saying why it cannot be used."""
    if isinstance(data, str):
        size = len(data.encode("utf-8", "surrogatepass"))
    elif isinstance(data, bytes | bytearray | memoryview):
        data = bytes(data)
        size = len(data)
    else:
        raise TypeError(f"parse_reply() takes bytes or str, not {type(data).__name__}")
    if size > max_bytes:
        raise ReplyError("too_large", f"The calendar data is larger than {max_bytes} bytes.")
    text = data if isinstance(data, str) else _decode(data)
    vevent = _reply_event(text)
    if "\x00" in text:
        # No calendar writes one, and PostgreSQL refuses to store or compare text holding it.
        raise ReplyError("nul", "The calendar data holds a NUL character.")

    uid = vevent.get("UID")
    if not isinstance(uid, str) or not uid.strip():
        raise ReplyError("no_uid", "The event has no single UID.")

    attendees = vevent.get("ATTENDEE")
    if attendees is None:
        raise ReplyError("no_attendee", "The reply names no ATTENDEE.")
    if isinstance(attendees, list):
        raise ReplyError("several_attendees", "The reply names more than one ATTENDEE.")
    if not isinstance(attendees, vCalAddress):
        raise ReplyError("no_attendee", "The ATTENDEE cannot be read.")
    address = str(attendees).strip()
    email = address[len("mailto:") :].strip().lower() if address.lower().startswith("mailto:") else ""
    if "@" not in email or any(c.isspace() or not c.isprintable() for c in email):
        raise ReplyError("no_attendee", "The ATTENDEE is not a mailto: e-mail address.")

    partstat = attendees.params.get("PARTSTAT")
    partstat = partstat.upper() if isinstance(partstat, str) else None
    if partstat not in REPLY_PARTSTATS:
        raise ReplyError("bad_partstat", "The ATTENDEE's PARTSTAT is not ACCEPTED, DECLINED or TENTATIVE.")

    return Reply(
        uid=str(uid).strip(),
        sequence=_sequence(vevent.get("SEQUENCE")),
        attendee_email=email,
        partstat=partstat,
        comment=_comment(vevent.get("COMMENT")),
        dtstamp=_dtstamp(vevent.get("DTSTAMP")),
    )


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        # iCalendar is UTF-8 by definition, but an old client may send Latin-1; keep its å, ä, ö readable.
        return raw.decode("latin-1")


def _reply_event(text: str) -> Event:
    try:
        components = Calendar.from_ical(text, multiple=True)
    # The parser raises assorted exception types on malformed input; all of them mean "unreadable".
    except Exception as exc:
        raise ReplyError("unreadable", "The data is not readable iCalendar.") from exc
    calendars = [c for c in components if c.name == "VCALENDAR"]
    if len(calendars) != 1 or len(components) != 1:
        raise ReplyError("unreadable", "The data is not exactly one iCalendar object (VCALENDAR).")
    calendar = calendars[0]
    method = calendar.get("METHOD")
    if not isinstance(method, str) or method.strip().upper() != "REPLY":
        raise ReplyError("not_reply", "The calendar data is not an iTIP REPLY (METHOD:REPLY).")
    vevents = [c for c in calendar.subcomponents if c.name == "VEVENT"]
    if not vevents:
        raise ReplyError("no_event", "The reply holds no event (VEVENT).")
    if len(vevents) > 1:
        raise ReplyError("several_events", "The reply holds more than one event (VEVENT).")
    return vevents[0]


def _sequence(value: object) -> int:
    if value is None:
        return 0  # RFC 5545: a missing SEQUENCE is 0
    if isinstance(value, vInt) and 0 <= value <= MAX_SEQUENCE:
        return int(value)
    raise ReplyError("bad_sequence", "The SEQUENCE is not a single whole number of 0 or more.")


def _comment(value: object) -> str | None:
    values = value if isinstance(value, list) else [value]
    text = "\n".join(str(v).strip() for v in values if isinstance(v, str) and v.strip())
    return text or None


def _dtstamp(value: object) -> datetime | None:
    # Not getattr(value, "dt"): a broken property (vBroken) raises on .dt instead of lacking it.
    moment = value.dt if isinstance(value, vDDDTypes) else None
    if not isinstance(moment, datetime):
        return None  # DTSTAMP only orders replies; a broken one is not worth refusing the answer for
    # RFC 5545 requires DTSTAMP in UTC; a client that forgets the "Z" still means UTC.
    try:
        return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    except (OverflowError, ValueError):  # e.g. year 1 with a positive offset
        return None
