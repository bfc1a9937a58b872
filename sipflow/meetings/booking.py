"""Reading a booking from form data: the time, the form of the meeting, the place and the invitees.

The same checks serve the kallelse transition and the booking of a later meeting, and they run in the
service layer, so a booking is refused the same way whoever asks (page, API, demo).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import and_, or_
from sqlmodel import Session, select

from sipflow.cases import days_off, fields
from sipflow.cases.days_off import DayOffWording
from sipflow.cases.models import Participant, SipCase
from sipflow.cases.participants import active_participants
from sipflow.clock import BOOKING_YEARS_AHEAD, last_booking_day, to_local
from sipflow.errors import InvalidInput, Refusals
from sipflow.meetings.models import MEETING_MODES, PLANNED, Meeting
from sipflow.meetings.place import refuse_identifying_place
from sipflow.security import access
from sipflow.translated import lazy_gettext as _l

MIN_MINUTES = 15
MAX_MINUTES = 8 * 60
LOCATION_MAX = 200
ROOM_MAX = 120
# The data names of a meeting's day and of the day the user confirmed booking despite the day-off warning.
DAY_FIELD = "meeting_day"
CONFIRMED_DAY = "confirmed_day"
# The data names of a meeting's start and of the start the user confirmed booking at despite the warning that
# another planned meeting of the SIP overlaps it.
START_FIELD = "meeting_starts_at"
CONFIRMED_START = "confirmed_start"


@dataclass(frozen=True)
class Booking:
    """A meeting to book or the new shape of a booked one; times are aware UTC."""

    starts_at: datetime
    ends_at: datetime
    mode: str
    location: str | None
    room: str | None
    invitee_ids: tuple[int, ...] = ()


PAST_MEETING = _l("The meeting must be in the future.")


def booking_day_refusal(day: date, *, now: datetime):
    """Why no meeting may be booked on day (a local date), or None: a meeting is booked from today (local)
    up to clock.last_booking_day. The booking and change forms refuse the date at the date field with it;
    read_times refuses the start with it, whoever books."""
    if day < to_local(now).date():
        return PAST_MEETING
    last_day = last_booking_day(now)
    if day > last_day:
        return _l(
            "A meeting is booked at most %(years)d years ahead: choose a day up to %(last)s.",
            years=BOOKING_YEARS_AHEAD,
            last=last_day.isoformat(),
        )
    return None


def read_start(data: dict, *, now: datetime) -> datetime:
    """The meeting's start from meeting_starts_at: given, ahead of now, on a day a meeting may be booked."""
    return check_start(typed_start(data), now=now)


def typed_start(data: dict) -> datetime:
    """The meeting's start as given in meeting_starts_at (aware), refused when missing."""
    starts_at = fields.moment(data, "meeting_starts_at")
    if starts_at is None:
        raise InvalidInput(_l("Enter when the meeting starts."), field="meeting_starts_at")
    return starts_at


def check_start(starts_at: datetime, *, now: datetime) -> datetime:
    """starts_at, refused unless ahead of now and on a day a meeting may be booked."""
    if starts_at <= now:
        raise InvalidInput(PAST_MEETING, field="meeting_starts_at")
    refusal = booking_day_refusal(to_local(starts_at).date(), now=now)
    if refusal is not None:
        raise InvalidInput(refusal, field="meeting_starts_at")
    return starts_at


def read_end(data: dict, starts_at: datetime | None) -> datetime | None:
    """The meeting's end from meeting_ends_at (or meeting_minutes after starts_at): after the start, a
    meeting's length apart. Without a start (refused) only what can be told without it is checked."""
    ends_at, field = fields.moment(data, "meeting_ends_at"), "meeting_ends_at"
    if ends_at is None:
        minutes, field = data.get("meeting_minutes") or 60, "meeting_minutes"
        if not isinstance(minutes, int) or isinstance(minutes, bool):
            raise InvalidInput(_l("A meeting lasts between 15 minutes and 8 hours."), field=field)
        ends_at = starts_at + timedelta(minutes=minutes) if starts_at is not None else None
    if starts_at is None:
        return None
    if ends_at <= starts_at:
        raise InvalidInput(_l("The meeting must end after it starts."), field=field)
    if not timedelta(minutes=MIN_MINUTES) <= ends_at - starts_at <= timedelta(minutes=MAX_MINUTES):
        raise InvalidInput(_l("A meeting lasts between 15 minutes and 8 hours."), field=field)
    return ends_at


def read_times(data: dict, *, now: datetime) -> tuple[datetime, datetime]:
    """Start and end from meeting_starts_at plus meeting_ends_at (or meeting_minutes); refused when wrong,
    the start's and the end's refusals at once."""
    refusals = Refusals()
    times = take_times(refusals, data, now=now)
    refusals.raise_any()
    return times


def take_times(refusals: Refusals, data: dict, *, now: datetime) -> tuple[datetime | None, datetime | None]:
    """Start and end as read_times reads them, their refusals gathered into refusals (None: refused). A start
    refused for its day (past, too far ahead) still has the end checked against it: an end before the start
    is wrong on any day, and shown with the day's refusal, not after it."""
    typed = refusals.take(typed_start, data)
    starts_at = refusals.take(check_start, typed, now=now) if typed is not None else None
    return starts_at, refusals.take(read_end, data, typed)


# The meeting's own words for the warning that its day is no working day (cases.days_off).
MEETING_DAY_OFF = DayOffWording(
    public_holiday=lambda holiday: _l("The meeting is on %(holiday)s, a public holiday.", holiday=holiday),
    holiday=lambda holiday: _l("The meeting is on %(holiday)s, a day most people have off.", holiday=holiday),
    saturday=_l("The meeting is on a Saturday."),
    sunday=_l("The meeting is on a Sunday."),
)


def day_off_warning(day: date):
    """The warning that the meeting's day is no working day, naming it (its holiday, else the weekday), or
    None."""
    return days_off.day_off_warning(day, MEETING_DAY_OFF)


def refuse_unconfirmed_day_off(starts_at: datetime, confirmed_day: date | None) -> None:
    """Refuse a meeting on a weekend day or a Swedish holiday (clock.day_off) unless confirmed_day is that
    day: some SIP meetings are held then, so the user is warned and may go on, never refused outright."""
    days_off.refuse_unconfirmed_day_off(
        to_local(starts_at).date(), confirmed_day, field=DAY_FIELD, wording=MEETING_DAY_OFF
    )


class SameStartUnconfirmed(InvalidInput):
    """Another planned meeting of the SIP overlaps the time booked (starts at the same moment, or runs into
    it), and the user has not confirmed that start: most often the same booking sent twice (Back and send
    again, two tabs), or a meeting booked twice at times a little apart. other: the other meeting's start
    and end, which the warning names."""

    code = "same_start"

    def __init__(
        self, message, starts_at: datetime, *, other: tuple[datetime, datetime], field: str = START_FIELD
    ):
        super().__init__(message, field=field)
        self.starts_at = starts_at
        self.other = other


def same_start_warning(other: tuple[datetime, datetime] | None):
    """The warning that another planned meeting of the SIP overlaps the one booked, naming the other
    meeting's day and time (start-end, in Swedish time), or, other None (not known), none."""
    if other is None:
        return _l(
            "Another planned meeting of this SIP is booked for a time that overlaps this one. "
            "Was it booked already?"
        )
    starts, ends = to_local(other[0]), to_local(other[1])
    return _l(
        "Another planned meeting of this SIP is booked for a time that overlaps this one: %(day)s, "
        "%(start)s–%(end)s. Was it booked already?",
        day=starts.date().isoformat(),
        start=starts.strftime("%H:%M"),
        end=ends.strftime("%H:%M"),
    )


def refuse_unconfirmed_same_start(
    session: Session,
    case: SipCase,
    starts_at: datetime,
    ends_at: datetime | None,
    confirmed_start: datetime | None,
    *,
    meeting_id: int | None = None,
) -> None:
    """Refuse a meeting overlapping another planned (not cancelled, not held) meeting of the case (the same
    start, or any time in common), unless confirmed_start is its start: two meetings of one SIP at one time
    are most often one booking sent twice, which would send every invitee a second kallelse; the user is
    warned (of the first such meeting) and may go on, never refused outright. ends_at None (not read): the
    same start alone is asked. meeting_id: the meeting being moved, which is not asked about itself."""
    if confirmed_start is not None and confirmed_start == starts_at:
        return
    if ends_at is None or ends_at <= starts_at:
        overlapping = Meeting.starts_at == starts_at
    else:
        overlapping = or_(
            Meeting.starts_at == starts_at, and_(Meeting.starts_at < ends_at, Meeting.ends_at > starts_at)
        )
    statement = select(Meeting.starts_at, Meeting.ends_at).where(
        Meeting.case_id == case.id, Meeting.status == PLANNED, overlapping
    )
    if meeting_id is not None:
        statement = statement.where(Meeting.id != meeting_id)
    other = session.exec(statement.order_by(Meeting.starts_at, Meeting.id).limit(1)).first()
    if other is not None:
        other = (other[0], other[1])
        raise SameStartUnconfirmed(same_start_warning(other), starts_at, other=other)


def read_confirmed_start(data: dict) -> datetime | None:
    """The start the user confirmed booking at despite the warning of another meeting then, or None."""
    return fields.moment(data, CONFIRMED_START)


def read_confirmed_day(data: dict) -> date | None:
    """The day the user confirmed booking on despite the day-off warning (data's confirmed_day), or None."""
    return fields.calendar_date(data, CONFIRMED_DAY)


def read_place(data: dict) -> tuple[str, str | None, str | None]:
    """The meeting form and, for a meeting on site or mixed, its address (required) and room.

    Whether they identify the person is asked by the writers, who know the case (place.py).
    """
    mode = fields.choice(data, "mode", MEETING_MODES)
    location = fields.line(data, "location", limit=LOCATION_MAX)
    room = fields.line(data, "room", limit=ROOM_MAX)
    if mode == "video":
        return mode, None, None
    if location is None:
        raise InvalidInput(_l("Enter the address of the meeting."), field="location")
    return mode, location, room


def participants_by_id(session: Session, case: SipCase) -> dict[int, Participant]:
    """The case's current participants by id."""
    return {p.id: p for p in active_participants(session, case.id)}


def read_invitees(
    session: Session,
    case: SipCase,
    data: dict,
    *,
    now: datetime,
    required: bool = True,
    participants: Collection[Participant] | None = None,
    seeing: frozenset[int] | None = None,
) -> tuple[int, ...]:
    """The participants chosen as invitees; each must take part in the case, and a unit (its organisation)
    must be covered by the consent in force: a kallelse shares the meeting with whoever it goes to.

    participants and seeing (the organisations that see the case): when the caller read them (a step has).
    """
    chosen = tuple(sorted(fields.ids(data, "invitee_ids")))
    if required and not chosen:
        raise InvalidInput(_l("Choose who is invited."), field="invitee_ids")
    active = (
        {p.id: p for p in participants} if participants is not None else participants_by_id(session, case)
    )
    if not set(chosen) <= set(active):
        raise InvalidInput(_l("Choose among the participants of the SIP."), field="invitee_ids")
    access.refuse_uncovered(
        session,
        case,
        (("invitee_ids", active[pid].organisation_id) for pid in chosen),
        now=now,
        seeing=seeing,
    )
    return chosen


def read_booking(
    session: Session,
    case: SipCase,
    data: dict,
    *,
    now: datetime,
    participants: Collection[Participant] | None = None,
    seeing: frozenset[int] | None = None,
) -> Booking:
    """A complete booking from data, every rule checked; InvalidInput names the field at fault, and every
    field at fault is refused at once (InvalidInputs).

    A meeting on a weekend day or a holiday is refused (DayOffUnconfirmed) unless data's confirmed_day is
    its day: the user's confirmation, which scripted callers pass too when they book on such a day. It comes
    with the other refusals, so one further send both fixes them and confirms the day. A meeting
    overlapping another planned meeting of the case is refused likewise (SameStartUnconfirmed) unless data's
    confirmed_start is its start.
    participants and seeing (the organisations that see the case): when the caller read them (a step has).
    """
    refusals = Refusals()
    starts_at, ends_at = take_times(refusals, data, now=now)
    mode, location, room = refusals.take(read_place, data, default=(None, None, None))
    invitees = refusals.take(
        read_invitees, session, case, data, now=now, participants=participants, seeing=seeing
    )
    booking = Booking(starts_at, ends_at, mode, location, room, invitees)
    take_place_and_day(
        refusals,
        session,
        case,
        booking,
        read_confirmed_day(data),
        now=now,
        confirmed_start=refusals.take(read_confirmed_start, data),
    )
    refusals.raise_any()
    return booking


def take_place_and_day(
    refusals: Refusals,
    session: Session,
    case: SipCase,
    booking: Booking,
    confirmed_day: date | None,
    *,
    now: datetime,
    booked_start: datetime | None = None,
    confirmed_start: datetime | None = None,
    meeting_id: int | None = None,
) -> None:
    """Gather into refusals what the case says of a booking read: a place that identifies the person
    (place.py), a day off not confirmed (confirmed_day) and a time another planned meeting of the case
    overlaps, not confirmed (confirmed_start). booked_start and meeting_id: a booked meeting's start and id,
    when the booking moves it; its own day is not asked again (confirmed when booked), nor its own start, nor
    is it another meeting. A start refused already (None) has no day to ask about.

    Asked with the other refusals, not after them: the user fixes every field and confirms the day and the
    start in one further send.
    """
    place = (("location", booking.location), ("room", booking.room))
    refusals.take(refuse_identifying_place, session, case, place, now=now)
    starts_at = booking.starts_at
    if starts_at is None:
        return
    if starts_at != booked_start:
        refusals.take(
            refuse_unconfirmed_same_start,
            session,
            case,
            starts_at,
            booking.ends_at,
            confirmed_start,
            meeting_id=meeting_id,
        )
    if booked_start is not None and to_local(starts_at).date() == to_local(booked_start).date():
        return
    refusals.take(refuse_unconfirmed_day_off, starts_at, confirmed_day)


def read_change(
    session: Session,
    case: SipCase,
    data: dict,
    *,
    now: datetime,
    booked_start: datetime,
    meeting_id: int | None = None,
) -> Booking:
    """The new time, form and place of a booked meeting (booked_start: its start as booked) from data,
    every rule checked and every field at fault refused at once (InvalidInputs), as read_booking does.

    Moved to another day that is a weekend day or a holiday, it is refused (DayOffUnconfirmed) with the
    rest unless data's confirmed_day is that day; moved onto the time of another planned meeting of the
    case (not meeting_id's own), likewise (SameStartUnconfirmed) unless data's confirmed_start is that start.
    """
    refusals = Refusals()
    starts_at, ends_at = take_times(refusals, data, now=now)
    mode, location, room = refusals.take(read_place, data, default=(None, None, None))
    booking = Booking(starts_at, ends_at, mode, location, room)
    take_place_and_day(
        refusals,
        session,
        case,
        booking,
        read_confirmed_day(data),
        now=now,
        booked_start=booked_start,
        confirmed_start=refusals.take(read_confirmed_start, data),
        meeting_id=meeting_id,
    )
    refusals.raise_any()
    return booking
