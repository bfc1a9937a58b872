"""iTIP calendar data, read back by two independent parsers (icalendar and ical), and REPLY parsing."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ical.calendar_stream import IcsCalendarStream
from ical.timezone import IcsTimezoneInfo
from icalendar import Calendar, Event, vCalAddress

from sipflow.meetings.ical import (
    CalendarAttendee,
    CalendarEvent,
    Reply,
    ReplyError,
    cancel_ics,
    feed_ics,
    parse_reply,
    request_ics,
    withdraw_ics,
)

STOCKHOLM = ZoneInfo("Europe/Stockholm")
NOW = datetime(2027, 1, 15, 12, 0, tzinfo=UTC)
DESCRIPTION = "Välkommen till SIP-mötet.\nTa med: kallelsen; inget annat, tack."
VIDEO = "https://video.example.se/join/abc?pwd=1&x=2"


def make_event(**changes) -> CalendarEvent:
    values = {
        "uid": "3f1c0c7e9d2a4b7f8e6d5c4b3a291807@sipflow",
        "sequence": 0,
        "starts_at": datetime(2027, 5, 12, 8, 0, tzinfo=UTC),
        "ends_at": datetime(2027, 5, 12, 9, 30, tzinfo=UTC),
        "summary": "SIP-möte SIP-2026-ABC123",
        "description": DESCRIPTION,
        "location": "Storgatan 1, Malmö / " + VIDEO,
        "url": VIDEO,
        "organizer_email": "sip@malmo.se",
        "organizer_name": "SIP Malmö stad, Socialtjänsten",
        "attendees": (
            CalendarAttendee("Anna.Lund@region.se", cn="Vårdcentral Öster"),
            CalendarAttendee("skola@malmo.se", role="OPT-PARTICIPANT", partstat="ACCEPTED", cn="Elevhälsan"),
            CalendarAttendee("privat@example.com"),  # a private invitee: no name
        ),
    }
    return CalendarEvent(**(values | changes))


def parse_both(data: bytes):
    """The one VCALENDAR as icalendar and as ical read it."""
    assert isinstance(data, bytes)
    first = Calendar.from_ical(data)
    stream = IcsCalendarStream.from_ics(data.decode("utf-8"))
    assert len(stream.calendars) == 1
    return first, stream.calendars[0]


def only_event(calendar: Calendar) -> Event:
    events = calendar.walk("VEVENT")
    assert len(events) == 1
    return events[0]


def attendees_of(vevent: Event) -> list[vCalAddress]:
    value = vevent.get("ATTENDEE", [])
    return value if isinstance(value, list) else [value]


# --- REQUEST -------------------------------------------------------------------------------------------


def test_request_is_read_field_by_field_by_icalendar():
    event = make_event(sequence=4, created_at=datetime(2027, 1, 2, 3, 4, 5, tzinfo=UTC), last_modified=NOW)
    calendar, _ = parse_both(request_ics(event, now=NOW))

    assert calendar["PRODID"] == "-//sipflow//SIP//SV"
    assert calendar["VERSION"] == "2.0"
    assert calendar["CALSCALE"] == "GREGORIAN"
    assert calendar["METHOD"] == "REQUEST"
    vevent = only_event(calendar)
    assert vevent["UID"] == event.uid
    assert vevent["SEQUENCE"] == 4
    assert vevent["DTSTAMP"].dt == NOW
    assert vevent["CREATED"].dt == datetime(2027, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert vevent["LAST-MODIFIED"].dt == NOW
    assert vevent["DTSTART"].params["TZID"] == "Europe/Stockholm"
    assert vevent["DTEND"].params["TZID"] == "Europe/Stockholm"
    assert vevent.start == event.starts_at and vevent.end == event.ends_at
    assert vevent.start.replace(tzinfo=None) == datetime(2027, 5, 12, 10, 0)  # CEST wall clock
    assert vevent["SUMMARY"] == event.summary
    assert vevent["DESCRIPTION"] == DESCRIPTION
    assert vevent["LOCATION"] == event.location
    assert vevent["URL"] == VIDEO
    assert vevent["STATUS"] == "CONFIRMED"
    assert vevent["CLASS"] == "PRIVATE"
    assert vevent["TRANSP"] == "OPAQUE"

    organizer = vevent["ORGANIZER"]
    assert organizer == "mailto:sip@malmo.se"
    assert organizer.params["CN"] == "SIP Malmö stad, Socialtjänsten"

    written = attendees_of(vevent)
    assert [str(a) for a in written] == [f"mailto:{a.email}" for a in event.attendees]
    for address, attendee in zip(written, event.attendees, strict=True):
        assert address.params["ROLE"] == attendee.role
        assert address.params["PARTSTAT"] == attendee.partstat
        assert address.params["RSVP"] == "TRUE"
        assert address.params["CUTYPE"] == "INDIVIDUAL"
        assert address.params.get("CN") == attendee.cn
    assert "CN" not in written[2].params  # privacy: no name for a private invitee

    [alarm] = vevent.walk("VALARM")
    assert alarm["ACTION"] == "DISPLAY"
    assert alarm["TRIGGER"].dt == timedelta(minutes=-30)


def test_request_is_read_field_by_field_by_ical():
    event = make_event(sequence=4)
    _, calendar = parse_both(request_ics(event, now=NOW))

    assert calendar.prodid == "-//sipflow//SIP//SV"
    assert calendar.version == "2.0"
    assert calendar.calscale == "GREGORIAN"
    assert calendar.method == "REQUEST"
    [vevent] = calendar.events
    assert vevent.uid == event.uid
    assert vevent.sequence == 4
    assert vevent.dtstamp == NOW
    assert vevent.dtstart == event.starts_at and vevent.dtend == event.ends_at
    assert str(vevent.dtstart.tzinfo) == "Europe/Stockholm"
    assert vevent.dtstart.replace(tzinfo=None) == datetime(2027, 5, 12, 10, 0)
    assert vevent.summary == event.summary
    assert vevent.description == DESCRIPTION
    assert vevent.location == event.location
    assert vevent.url == VIDEO
    assert vevent.status == "CONFIRMED"
    assert vevent.classification == "PRIVATE"
    assert vevent.transparency == "OPAQUE"
    assert vevent.organizer.uri == "mailto:sip@malmo.se"
    assert vevent.organizer.common_name == "SIP Malmö stad, Socialtjänsten"
    assert [a.uri for a in vevent.attendees] == [f"mailto:{a.email}" for a in event.attendees]
    for address, attendee in zip(vevent.attendees, event.attendees, strict=True):
        assert address.role == attendee.role
        assert address.status == attendee.partstat
        assert address.rsvp is True
        assert address.user_type == "INDIVIDUAL"
        assert address.common_name == attendee.cn
    assert [alarm.trigger for alarm in vevent.alarm] == [timedelta(minutes=-30)]


def test_optional_fields_are_left_out():
    event = make_event(description="", location=None, url=None, attendees=())
    vevent = only_event(Calendar.from_ical(request_ics(event, now=NOW)))
    for name in ("DESCRIPTION", "LOCATION", "URL", "ATTENDEE", "CREATED", "LAST-MODIFIED"):
        assert name not in vevent


def test_output_is_crlf_and_folded():
    data = request_ics(make_event(description="å" * 300), now=NOW)
    assert data.endswith(b"END:VCALENDAR\r\n")
    lines = data.split(b"\r\n")
    assert all(b"\n" not in line and b"\r" not in line for line in lines)
    assert max(len(line) for line in lines) <= 75  # RFC 5545 3.1: octets, not characters


def test_names_need_no_rfc6868_escapes():
    # Outlook shows ^' literally, so quotes in a name become apostrophes instead.
    event = make_event(
        organizer_name='SIP "Malmö"\nstad',
        attendees=(CalendarAttendee("a@b.se", cn='Enhet "Norr" ^ Syd'),),
    )
    data = request_ics(event, now=NOW)
    assert b"^" not in data
    vevent = only_event(Calendar.from_ical(data))
    assert vevent["ORGANIZER"].params["CN"] == "SIP 'Malmö' stad"
    assert vevent["ATTENDEE"].params["CN"] == "Enhet 'Norr' Syd"


def test_naive_datetimes_are_utc_like_the_database_stores_them():
    naive = make_event(starts_at=datetime(2027, 5, 12, 8, 0), ends_at=datetime(2027, 5, 12, 9, 30))
    assert request_ics(naive, now=NOW.replace(tzinfo=None)) == request_ics(make_event(), now=NOW)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"ends_at": datetime(2027, 5, 12, 8, 0, tzinfo=UTC)}, "end after"),
        ({"sequence": -1}, "SEQUENCE"),
        ({"uid": ""}, "UID"),
        ({"status": "MAYBE"}, "STATUS"),
        ({"organizer_email": "not an address"}, "e-mail"),
    ],
)
def test_impossible_events_are_refused(changes, message):
    with pytest.raises(ValueError, match=message):
        make_event(**changes)


@pytest.mark.parametrize(
    "changes",
    [{"role": "BOSS"}, {"partstat": "MAYBE"}, {"email": "a@b.se\r\nX-EVIL:1"}, {"email": "mailto:a@b.se"}],
)
def test_impossible_attendees_are_refused(changes):
    with pytest.raises(ValueError):
        CalendarAttendee(**({"email": "a@b.se"} | changes))


# --- Summer time -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("local", "utc"),
    [
        (datetime(2027, 3, 27, 10, 0), datetime(2027, 3, 27, 9, 0, tzinfo=UTC)),  # day before: CET
        (datetime(2027, 3, 28, 10, 0), datetime(2027, 3, 28, 8, 0, tzinfo=UTC)),  # spring day: CEST
        (datetime(2027, 10, 30, 10, 0), datetime(2027, 10, 30, 8, 0, tzinfo=UTC)),  # day before: CEST
        (datetime(2027, 10, 31, 10, 0), datetime(2027, 10, 31, 9, 0, tzinfo=UTC)),  # autumn day: CET
    ],
)
def test_meetings_around_summer_time_keep_wall_clock_and_instant(local, utc):
    event = make_event(starts_at=utc, ends_at=utc + timedelta(hours=1))
    data = request_ics(event, now=NOW)
    assert f"DTSTART;TZID=Europe/Stockholm:{local:%Y%m%dT%H%M%S}\r\n".encode() in data

    first, second = parse_both(data)
    vevent = only_event(first)
    [other] = second.events
    for start, end in ((vevent.start, vevent.end), (other.dtstart, other.dtend)):
        assert start == utc
        assert start.astimezone(UTC) == utc
        assert start.replace(tzinfo=None) == local
        assert start.astimezone(STOCKHOLM).replace(tzinfo=None) == local
        assert end - start == timedelta(hours=1)


@pytest.mark.parametrize(
    ("start_utc", "end_utc", "start_local", "end_local", "length"),
    [
        # Spring: 01:30 CET to 03:30 CEST is two hours on the clock but one hour of meeting.
        (
            datetime(2027, 3, 28, 0, 30, tzinfo=UTC),
            datetime(2027, 3, 28, 1, 30, tzinfo=UTC),
            "20270328T013000",
            "20270328T033000",
            timedelta(hours=1),
        ),
        # Autumn: 01:30 CEST to 03:30 CET is two hours on the clock but three hours of meeting.
        (
            datetime(2027, 10, 30, 23, 30, tzinfo=UTC),
            datetime(2027, 10, 31, 2, 30, tzinfo=UTC),
            "20271031T013000",
            "20271031T033000",
            timedelta(hours=3),
        ),
    ],
)
def test_meetings_across_the_change_last_as_long_as_they_do(
    start_utc, end_utc, start_local, end_local, length
):
    data = request_ics(make_event(starts_at=start_utc, ends_at=end_utc), now=NOW)
    assert f"DTSTART;TZID=Europe/Stockholm:{start_local}\r\n".encode() in data
    assert f"DTEND;TZID=Europe/Stockholm:{end_local}\r\n".encode() in data
    first, second = parse_both(data)
    vevent = only_event(first)
    [other] = second.events
    for start, end in ((vevent.start, vevent.end), (other.dtstart, other.dtend)):
        assert (start, end) == (start_utc, end_utc)
        assert end.astimezone(UTC) - start.astimezone(UTC) == length


@pytest.mark.parametrize(
    ("starts_at", "zone_name", "start_line", "end_line"),
    [
        # 02:30 happens twice on 2027-10-31; a wall clock with TZID cannot say which one is meant, and
        # Thunderbird and Evolution read it as the later (CET) one: both occurrences are written in UTC.
        (
            datetime(2027, 10, 31, 0, 30, tzinfo=UTC),
            "02:30 CEST",
            b"DTSTART:20271031T003000Z\r\n",
            b"DTEND:20271031T013000Z\r\n",  # 02:30 CET, the repeated hour again
        ),
        (
            datetime(2027, 10, 31, 1, 30, tzinfo=UTC),
            "02:30 CET",
            b"DTSTART:20271031T013000Z\r\n",
            b"DTEND;TZID=Europe/Stockholm:20271031T033000\r\n",
        ),
    ],
)
def test_both_occurrences_of_the_repeated_autumn_hour_are_written_in_utc(
    starts_at, zone_name, start_line, end_line
):
    assert starts_at.astimezone(STOCKHOLM).strftime("%H:%M %Z") == zone_name
    event = make_event(starts_at=starts_at, ends_at=starts_at + timedelta(hours=1))
    feed = feed_ics([event], name="x", now=NOW)
    for data in (request_ics(event, now=NOW), cancel_ics(event, now=NOW), feed):
        assert start_line in data and end_line in data
        first, second = parse_both(data)
        assert only_event(first).start == second.events[0].dtstart == starts_at
        assert only_event(first).end == second.events[0].dtend == starts_at + timedelta(hours=1)


def test_the_hours_around_the_repeated_one_keep_their_time_zone():
    # 01:59 CEST and 03:00 CET are unambiguous: Outlook moves them right only with TZID.
    for utc, local in (
        (datetime(2027, 10, 30, 23, 59, tzinfo=UTC), "20271031T015900"),
        (datetime(2027, 10, 31, 2, 0, tzinfo=UTC), "20271031T030000"),
    ):
        data = request_ics(make_event(starts_at=utc, ends_at=utc + timedelta(hours=1)), now=NOW)
        assert f"DTSTART;TZID=Europe/Stockholm:{local}\r\n".encode() in data


def test_vtimezone_states_both_offsets_as_yearly_rules():
    calendar, other = parse_both(request_ics(make_event(), now=NOW))
    [timezone] = calendar.timezones
    assert timezone["TZID"] == "Europe/Stockholm"
    [daylight] = timezone.daylight
    [standard] = timezone.standard
    assert (daylight["TZOFFSETFROM"].td, daylight["TZOFFSETTO"].td) == (
        timedelta(hours=1),
        timedelta(hours=2),
    )
    assert (standard["TZOFFSETFROM"].td, standard["TZOFFSETTO"].td) == (
        timedelta(hours=2),
        timedelta(hours=1),
    )
    assert daylight["TZNAME"] == "CEST" and standard["TZNAME"] == "CET"
    # Outlook ignores RDATE lists in a VTIMEZONE; it needs last-Sunday rules like these.
    assert daylight["RRULE"] == {"FREQ": ["YEARLY"], "BYMONTH": [3], "BYDAY": ["-1SU"]}
    assert standard["RRULE"] == {"FREQ": ["YEARLY"], "BYMONTH": [10], "BYDAY": ["-1SU"]}
    assert "RDATE" not in daylight and "RDATE" not in standard
    assert daylight["DTSTART"].dt.time().hour == 2  # 02:00 CET becomes 03:00 CEST
    assert standard["DTSTART"].dt.time().hour == 3  # 03:00 CEST becomes 02:00 CET
    [ical_timezone] = other.timezones
    assert ical_timezone.tz_id == "Europe/Stockholm"
    assert [o.tz_offset_to.offset for o in ical_timezone.daylight] == [timedelta(hours=2)]
    assert [o.tz_offset_to.offset for o in ical_timezone.standard] == [timedelta(hours=1)]


def test_vtimezone_alone_agrees_with_zoneinfo():
    """Outlook goes by the VTIMEZONE text, not the name: read it without zoneinfo, compare with zoneinfo."""
    # This also fails if Sweden's summer time rules change (tzdata first): the hand-written rules must follow.
    calendar, other = parse_both(request_ics(make_event(), now=NOW))
    from_icalendar = calendar.timezones[0].to_tz(lookup_tzid=False)
    from_ical = IcsTimezoneInfo.from_timezone(other.timezones[0])
    moments, changes = [], 0
    day, last = datetime(2026, 1, 1, tzinfo=UTC), datetime(2046, 1, 1, tzinfo=UTC)
    while day < last:
        moments.append(day + timedelta(hours=11))
        if (
            day.astimezone(STOCKHOLM).utcoffset()
            != (day + timedelta(days=1)).astimezone(STOCKHOLM).utcoffset()
        ):
            moments += [day + timedelta(minutes=30 * n) for n in range(-48, 96)]  # every half hour around it
            changes += 1
        day += timedelta(days=1)
    assert changes == 40  # two a year for 20 years
    for moment in moments:
        local = moment.astimezone(STOCKHOLM)
        wall = local.replace(tzinfo=None)
        assert moment.astimezone(from_icalendar).replace(tzinfo=None) == wall, moment
        assert wall.replace(tzinfo=from_icalendar, fold=local.fold).utcoffset() == local.utcoffset(), moment
        ambiguous = local.replace(fold=1 - local.fold).utcoffset() != local.utcoffset()
        if not ambiguous:  # ical's tzinfo cannot tell the two 02:30s of the autumn day apart
            assert wall.replace(tzinfo=from_ical).utcoffset() == local.utcoffset(), moment


# --- CANCEL and updates ----------------------------------------------------------------------------------


def test_cancel_keeps_uid_and_carries_sequence_and_status():
    event = make_event(sequence=3)
    first, second = parse_both(cancel_ics(event, now=NOW))
    assert first["METHOD"] == "CANCEL" and second.method == "CANCEL"
    vevent = only_event(first)
    [other] = second.events
    assert vevent["UID"] == other.uid == event.uid
    assert vevent["SEQUENCE"] == other.sequence == 3
    assert vevent["STATUS"] == "CANCELLED" and other.status == "CANCELLED"
    assert vevent.start == other.dtstart == event.starts_at
    assert vevent["ORGANIZER"] == "mailto:sip@malmo.se"
    assert [str(a) for a in attendees_of(vevent)] == [f"mailto:{a.email}" for a in event.attendees]
    assert vevent["TRANSP"] == "TRANSPARENT"  # no longer blocks the time
    assert not vevent.walk("VALARM")


def test_withdrawing_one_attendee_cancels_for_them_without_cancelling_the_meeting():
    # RFC 5546 3.2.5: a CANCEL that uninvites specific attendees names them and MUST NOT carry STATUS,
    # which would say the whole meeting is cancelled.
    event = make_event(sequence=2)
    removed = CalendarAttendee("privat@example.com")
    data = withdraw_ics(event, removed, now=NOW, comment="Din kallelse är återkallad.")
    first, second = parse_both(data)
    assert first["METHOD"] == "CANCEL" and second.method == "CANCEL"
    vevent = only_event(first)
    [other] = second.events
    assert vevent["UID"] == other.uid == event.uid
    assert vevent["SEQUENCE"] == other.sequence == 2
    assert "STATUS" not in vevent and other.status is None
    assert b"CANCELLED" not in data
    assert [str(a) for a in attendees_of(vevent)] == ["mailto:privat@example.com"]
    assert [a.uri for a in other.attendees] == ["mailto:privat@example.com"]
    assert vevent["ORGANIZER"] == "mailto:sip@malmo.se"
    assert str(vevent["COMMENT"]) == "Din kallelse är återkallad."
    assert vevent.start == other.dtstart == event.starts_at
    assert not vevent.walk("VALARM")


def test_request_ignores_a_cancelled_status_and_cancel_a_confirmed_one():
    # The method decides the status: an invitation is never sent as cancelled, nor the reverse.
    cancelled = make_event(status="CANCELLED")
    assert only_event(Calendar.from_ical(request_ics(cancelled, now=NOW)))["STATUS"] == "CONFIRMED"
    assert only_event(Calendar.from_ical(cancel_ics(make_event(), now=NOW)))["STATUS"] == "CANCELLED"


def test_invite_update_cancel_sequence():
    invite = make_event(sequence=0)
    moved = dataclasses.replace(
        invite,
        sequence=1,
        starts_at=datetime(2027, 3, 28, 8, 0, tzinfo=UTC),
        ends_at=datetime(2027, 3, 28, 9, 0, tzinfo=UTC),
        location="Rådhuset, sal 2",
    )
    cancelled = dataclasses.replace(moved, sequence=2)
    stamps = [NOW, NOW + timedelta(days=1), NOW + timedelta(days=2)]
    messages = [
        request_ics(invite, now=stamps[0]),
        request_ics(moved, now=stamps[1]),
        cancel_ics(cancelled, now=stamps[2]),
    ]
    seen = []
    for data in messages:
        first, second = parse_both(data)
        vevent = only_event(first)
        [other] = second.events
        assert vevent["UID"] == other.uid
        assert vevent["SEQUENCE"] == other.sequence
        seen.append((first["METHOD"], vevent["UID"], vevent["SEQUENCE"], vevent["DTSTAMP"].dt, vevent.start))
    assert [s[0] for s in seen] == ["REQUEST", "REQUEST", "CANCEL"]
    assert {s[1] for s in seen} == {invite.uid}
    assert [s[2] for s in seen] == [0, 1, 2]
    assert [s[3] for s in seen] == stamps
    assert seen[1][4].replace(tzinfo=None) == datetime(2027, 3, 28, 10, 0)
    assert seen[2][4] == seen[1][4]


# --- Feed ------------------------------------------------------------------------------------------------


def test_feed_lists_meetings_without_addresses_and_marks_cancelled_ones():
    events = [
        make_event(uid="one@sipflow", sequence=1),
        make_event(uid="two@sipflow", status="CANCELLED", starts_at=datetime(2027, 10, 31, 9, tzinfo=UTC),
                   ends_at=datetime(2027, 10, 31, 10, tzinfo=UTC)),
        make_event(uid="three@sipflow", attendees=()),
    ]  # fmt: skip
    data = feed_ics(events, name="SIP-möten, Malmö", now=NOW)
    assert b"mailto:" not in data.lower()
    assert b"METHOD:REQUEST" not in data
    first, second = parse_both(data)
    assert first["METHOD"] == "PUBLISH" and second.method == "PUBLISH"
    assert first["X-WR-CALNAME"] == "SIP-möten, Malmö"
    assert first["NAME"] == "SIP-möten, Malmö" and second.name == ["SIP-möten, Malmö"]
    assert first["X-WR-TIMEZONE"] == "Europe/Stockholm" and second.x_wr_timezone == "Europe/Stockholm"
    assert first["REFRESH-INTERVAL"].params["VALUE"] == "DURATION"
    assert first.refresh_interval == second.refresh_interval == timedelta(hours=1)
    assert first["X-PUBLISHED-TTL"] == "PT1H"
    assert len(first.timezones) == 1
    vevents = first.walk("VEVENT")
    assert (
        [v["UID"] for v in vevents]
        == [e.uid for e in second.events]
        == ["one@sipflow", "two@sipflow", "three@sipflow"]
    )
    assert (
        [v["STATUS"] for v in vevents]
        == [e.status for e in second.events]
        == ["CONFIRMED", "CANCELLED", "CONFIRMED"]
    )
    assert [v["SEQUENCE"] for v in vevents] == [1, 0, 0]
    assert vevents[1].start.replace(tzinfo=None) == datetime(2027, 10, 31, 10, 0)
    for vevent in vevents:
        assert "ORGANIZER" not in vevent and "ATTENDEE" not in vevent
        assert vevent["CLASS"] == "PRIVATE"


def test_empty_feed_is_still_a_calendar():
    first, second = parse_both(feed_ics([], name="SIP", now=NOW))
    assert first.walk("VEVENT") == [] and second.events == []
    assert first["METHOD"] == "PUBLISH"


# --- REPLY -----------------------------------------------------------------------------------------------


def reply_text(
    *,
    method: str = "REPLY",
    partstat: str = "ACCEPTED",
    address: str = "mailto:anna.lund@region.se",
    sequence: int | None = 2,
    comment: str | None = "Jag kommer, men bara första timmen.",
    uid: str = "3f1c0c7e9d2a4b7f8e6d5c4b3a291807@sipflow",
    attendees: int = 1,
    events: int = 1,
    prodid: str = "-//Microsoft Corporation//Outlook 16.0 MIMEDIR//EN",
) -> bytes:
    """A REPLY as Outlook or Google sends it, built with icalendar."""
    calendar = Calendar()
    calendar.add("prodid", prodid)
    calendar.add("version", "2.0")
    if method:
        calendar.add("method", method)
    for _ in range(events):
        vevent = Event()
        if uid:
            vevent.add("uid", uid)
        if sequence is not None:
            vevent.add("sequence", sequence)
        vevent.add("dtstamp", datetime(2027, 1, 16, 7, 45, tzinfo=UTC))
        vevent.add("dtstart", datetime(2027, 5, 12, 10, 0, tzinfo=STOCKHOLM))
        vevent.add("dtend", datetime(2027, 5, 12, 11, 30, tzinfo=STOCKHOLM))
        vevent.add("summary", "Accepterat: SIP-möte SIP-2026-ABC123")
        vevent.add("organizer", vCalAddress.new("sip@malmo.se", cn="SIP Malmö stad"))
        for _ in range(attendees):
            attendee = vCalAddress(address)
            attendee.params["PARTSTAT"] = partstat
            attendee.params["CN"] = "Anna Lund"
            vevent.add("attendee", attendee)
        if comment:
            vevent.add("comment", comment)
        calendar.add_component(vevent)
    return calendar.to_ical()


@pytest.mark.parametrize("partstat", ["ACCEPTED", "DECLINED", "TENTATIVE", "accepted"])
def test_reply_gives_uid_sequence_attendee_and_answer(partstat):
    reply = parse_reply(reply_text(partstat=partstat))
    assert reply == Reply(
        uid="3f1c0c7e9d2a4b7f8e6d5c4b3a291807@sipflow",
        sequence=2,
        attendee_email="anna.lund@region.se",
        partstat=partstat.upper(),
        comment="Jag kommer, men bara första timmen.",
        dtstamp=datetime(2027, 1, 16, 7, 45, tzinfo=UTC),
    )


@pytest.mark.parametrize(
    "address", ["mailto:Anna.Lund@Region.se", "MAILTO:ANNA.LUND@REGION.SE", "Mailto: anna.lund@region.se"]
)
def test_reply_address_is_lower_case_without_mailto(address):
    assert parse_reply(reply_text(address=address)).attendee_email == "anna.lund@region.se"


def test_reply_without_sequence_comment_or_dtstamp():
    data = reply_text(sequence=None, comment=None).replace(b"DTSTAMP:20270116T074500Z\r\n", b"")
    reply = parse_reply(data)
    assert (reply.sequence, reply.comment, reply.dtstamp) == (0, None, None)


@pytest.mark.parametrize("dtstamp", [b"G\xc3\xa520270116T074500Z", b"00010101T000000+0100", b"20270116"])
def test_reply_with_unusable_dtstamp_still_counts(dtstamp):
    # Found by fuzzing: icalendar keeps a broken DTSTAMP as vBroken, whose .dt raises.
    reply = parse_reply(reply_text().replace(b"DTSTAMP:20270116T074500Z", b"DTSTAMP:" + dtstamp))
    assert (reply.partstat, reply.dtstamp) == ("ACCEPTED", None)


def test_reply_as_str_with_bom_or_bare_newlines():
    data = reply_text()
    expected = parse_reply(data)
    assert parse_reply(data.decode()) == expected
    assert parse_reply(b"\xef\xbb\xbf" + data) == expected
    assert parse_reply(data.replace(b"\r\n", b"\n")) == expected


def test_reply_in_latin1_keeps_swedish_letters():
    data = reply_text().decode().encode("latin-1")
    assert parse_reply(data).comment == "Jag kommer, men bara första timmen."


def test_reply_from_google_with_floating_dtstamp():
    data = reply_text(prodid="-//Google Inc//Google Calendar 70.9054//EN", comment=None)
    data = data.replace(b"DTSTAMP:20270116T074500Z", b"DTSTAMP:20270116T074500")
    data = data.replace(b"ATTENDEE;", b"ATTENDEE;CUTYPE=INDIVIDUAL;ROLE=REQ-PARTICIPANT;X-NUM-GUESTS=0;")
    reply = parse_reply(data)
    assert reply.dtstamp == datetime(2027, 1, 16, 7, 45, tzinfo=UTC)
    assert reply.partstat == "ACCEPTED"


def test_reply_to_our_own_invitation():
    """What a calendar client does with our REQUEST: same UID and SEQUENCE, one ATTENDEE, METHOD:REPLY."""
    calendar = Calendar.from_ical(request_ics(make_event(sequence=5), now=NOW))
    calendar["METHOD"] = "REPLY"
    vevent = only_event(calendar)
    answer = attendees_of(vevent)[1]
    answer.params["PARTSTAT"] = "DECLINED"
    vevent.pop("ATTENDEE")
    vevent.add("attendee", answer)
    reply = parse_reply(calendar.to_ical())
    assert (reply.uid, reply.sequence) == (make_event().uid, 5)
    assert (reply.attendee_email, reply.partstat) == ("skola@malmo.se", "DECLINED")


def _bad(data: bytes | str, code: str, **kwargs) -> ReplyError:
    with pytest.raises(ReplyError) as caught:
        parse_reply(data, **kwargs)
    error = caught.value
    assert isinstance(error, ValueError)
    assert error.code == code
    assert str(error)[0].isupper() and str(error).endswith(".")
    return error


VEVENT = b"BEGIN:VEVENT\r\nUID:x@y\r\nATTENDEE;PARTSTAT=ACCEPTED:mailto:a@b.se\r\nEND:VEVENT\r\n"


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"garbage",
        b"\x00\xff\xfe\x01",
        "Hej då",
        b"END:VCALENDAR\r\n",
        b'BEGIN:VCALENDAR\r\nMETHOD:REPLY\r\nX;A="b:c\r\nEND:VCALENDAR\r\n',
        VEVENT,  # an event without its VCALENDAR
        b"BEGIN:VCALENDAR\r\nMETHOD:REPLY\r\n" + VEVENT + b"END:VCALENDAR\r\n" * 2,
        (b"BEGIN:VCALENDAR\r\nMETHOD:REPLY\r\n" + VEVENT + b"END:VCALENDAR\r\n") * 2,
    ],
)
def test_unreadable_replies(data):
    _bad(data, "unreadable")


def test_reply_error_codes():
    _bad(reply_text(method="REQUEST"), "not_reply")
    _bad(reply_text(method=""), "not_reply")
    _bad(reply_text(events=0), "no_event")
    _bad(reply_text(events=2), "several_events")
    _bad(reply_text(uid=""), "no_uid")
    _bad(reply_text().replace(b"UID:", b"UID:a\r\nUID:"), "no_uid")
    _bad(reply_text(attendees=0), "no_attendee")
    _bad(reply_text(address="http://example.se/anna"), "no_attendee")
    _bad(reply_text(address="mailto:"), "no_attendee")
    _bad(reply_text(attendees=2), "several_attendees")
    for partstat in ("NEEDS-ACTION", "DELEGATED", "MAYBE"):
        _bad(reply_text(partstat=partstat), "bad_partstat")
    _bad(reply_text().replace(b";PARTSTAT=ACCEPTED", b""), "bad_partstat")
    for sequence in (b"abc", b"-1", b"99999999999", b"1.5"):
        _bad(reply_text().replace(b"SEQUENCE:2", b"SEQUENCE:" + sequence), "bad_sequence")
    _bad(reply_text().replace(b"SEQUENCE:2", b"SEQUENCE:2\r\nSEQUENCE:3"), "bad_sequence")
    _bad(reply_text(), "too_large", max_bytes=100)
    _bad(reply_text().decode(), "too_large", max_bytes=100)


def test_reply_error_is_an_error_with_a_code():
    error = ReplyError("no_uid", "The event has no single UID.")
    assert error.code == "no_uid" and str(error) == "The event has no single UID."


def test_parse_reply_refuses_other_types():
    with pytest.raises(TypeError):
        parse_reply(5)  # type: ignore[arg-type]


GOOD_REPLY = reply_text()
# Lines that look like iCalendar, so generated input gets past the first parser checks.
LINES = st.sampled_from(
    [
        "BEGIN:VCALENDAR",
        "END:VCALENDAR",
        "METHOD:REPLY",
        "METHOD:REQUEST",
        "BEGIN:VEVENT",
        "END:VEVENT",
        "BEGIN:VTIMEZONE",
        "END:VTIMEZONE",
        "UID:x@y",
        "UID:",
        "SEQUENCE:1",
        "SEQUENCE:x",
        "DTSTAMP:20270101T000000Z",
        "DTSTAMP:00010101T000000",
        "DTSTAMP;TZID=Europe/Stockholm:20270101T000000",
        "DTSTAMP;VALUE=DATE:20270101",
        "ATTENDEE;PARTSTAT=ACCEPTED:mailto:a@b.se",
        "ATTENDEE;PARTSTAT=ACCEPTED,DECLINED:mailto:a@b.se",
        "ATTENDEE:MAILTO:",
        "COMMENT:hej\\, då",
        " folded",
    ]
)


@settings(max_examples=200, deadline=None)
@given(
    st.one_of(
        st.binary(max_size=2000),
        st.text(max_size=2000),
        st.lists(st.one_of(LINES, st.text(max_size=40)), max_size=30).map("\r\n".join),
        # A good reply with a piece cut out and something else put in its place.
        st.tuples(st.integers(0, 700), st.integers(0, 40), st.binary(max_size=40)).map(
            lambda cut: GOOD_REPLY[: cut[0]] + cut[2] + GOOD_REPLY[cut[0] + cut[1] :]
        ),
    )
)
def test_parse_reply_returns_a_reply_or_says_why(data):
    try:
        reply = parse_reply(data)
    except ReplyError as error:
        assert error.code in {
            "unreadable",
            "not_reply",
            "no_event",
            "several_events",
            "no_uid",
            "no_attendee",
            "several_attendees",
            "bad_partstat",
            "bad_sequence",
            "too_large",
            "nul",
        }
    else:
        assert isinstance(reply, Reply)
        assert reply.partstat in {"ACCEPTED", "DECLINED", "TENTATIVE"}
        assert reply.sequence >= 0 and "@" in reply.attendee_email
