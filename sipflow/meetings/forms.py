"""The meeting forms: booking (and changing) a meeting, inviting, cancelling, and the invitee's answer."""

from __future__ import annotations

from datetime import date, datetime

from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    FormField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    TimeField,
)
from wtforms.validators import InputRequired, Optional, StopValidation, ValidationError
from wtforms.widgets import HiddenInput

from sipflow.cases.forms import (
    ATTENDANCE_LABELS,
    DATETIME_LOCAL_FORMATS,
    DECISION_ROWS,
    MEETING_MODE_LABELS,
    SKIPPED_TIME,
    VERSION_LABEL,
    DayOffConfirmation,
    ExistingWallTime,
    ForgetsRemovedTicks,
    InDateWindow,
    MultiCheckboxField,
    RowForm,
    TextAreaField,
    UnambiguousWallTime,
    choices,
    date_field,
    parsed,
    repeated_time_message,
)
from sipflow.clock import (
    local_to_utc,
    now_utc,
    to_local,
    wall_time_exists,
    wall_time_repeated,
    within_date_window,
)
from sipflow.forms import MergesAsRead, PageForm, RowList
from sipflow.lengths import MaxLength
from sipflow.meetings.booking import MEETING_DAY_OFF, booking_day_refusal, same_start_warning
from sipflow.meetings.services import COMMENT_MAX
from sipflow.translated import REQUIRED
from sipflow.translated import lazy_gettext as _l
from sipflow.translated import lazy_pgettext as _lp

ANSWER_LABELS = {
    "ACCEPTED": _l("Yes, I will come"),
    "TENTATIVE": _l("Maybe"),
    "DECLINED": _l("No, I cannot come"),
}
PARTSTAT_LABELS = {
    "NEEDS-ACTION": _l("Not answered"),
    "ACCEPTED": _l("Accepted"),
    "TENTATIVE": _l("Maybe"),
    # Not the consent's "Declined" ("Nekat"): an invitee who cannot come has "tackat nej", as Outlook says.
    "DECLINED": _lp("invitation answer", "Declined"),
}
ANSWER_MODE_LABELS = {"on_site": _l("On site"), "video": _l("By video"), "phone": _l("By phone")}
# The day the times of a booking are placed on to ask the service about them when the form refused a date
# too far out to convert (MeetingTimeForm._wall_to_ask): a weekday far from any change of the clocks.
STAND_IN_DAY = date(2000, 1, 4)


def _version_field() -> IntegerField:
    # What the form was read at: the case's version on the booking page, the meeting's SEQUENCE on the
    # meeting page. A form from before someone else's change is refused as stale. The label is never shown;
    # given, WTForms does not make one up through its own catalogue (loaded from disk once per request).
    return IntegerField(VERSION_LABEL, widget=HiddenInput(), validators=[InputRequired()])


class InBookingWindow:
    """Refuse a meeting's date outside the days a meeting may be booked on (booking.booking_day_refusal),
    at the date field, naming them: a date far out (year 9999) is refused so too, before any conversion."""

    field_flags: dict = {}

    def __call__(self, form, field) -> None:
        if field.data is not None:
            refusal = booking_day_refusal(field.data, now=now_utc())
            if refusal is not None:
                raise StopValidation(refusal)


class MeetingTimeForm(DayOffConfirmation, PageForm):
    """The time, form and place of a meeting; the booking form adds the invitees."""

    day_off_wording = MEETING_DAY_OFF

    version = _version_field()
    date = DateField(_l("Date"), validators=[InputRequired(message=REQUIRED), InBookingWindow()])
    starts = TimeField(_l("Starts"), validators=[InputRequired(message=REQUIRED)])
    ends = TimeField(_l("Ends"), validators=[InputRequired(message=REQUIRED)])
    mode = RadioField(
        _l("Meeting form"),
        choices=choices(MEETING_MODE_LABELS.items()),
        default="video",
        validators=[InputRequired(message=REQUIRED)],
    )
    location = StringField(
        _l("Address"),
        validators=[Optional(), MaxLength(200)],
        # The place goes into the invitations and calendar entries (cases.forms.PLACE_IN_CALENDAR).
        description=_l(
            "For a meeting on site or mixed. Sent with the room in the invitation e-mail and the calendar "
            "entry: write where to meet, never a name or what the meeting is about."
        ),
    )
    room = StringField(_l("Room"), validators=[Optional(), MaxLength(120)])
    # Shown with the warning that the meeting falls on a weekend day or a holiday: the tick confirms the day
    # warned about (warned_day), so a tick left on confirms no other day the user picks afterwards.
    confirm_day = BooleanField(_l("Book anyway"))
    warned_day = HiddenField()
    # Shown with the warning that another planned meeting of the SIP overlaps the time booked: the tick
    # confirms the start warned about (warned_start, local "YYYY-MM-DDTHH:MM") alone; warned_other: the
    # other meeting's start and end the warning named (local "YYYY-MM-DDTHH:MM/YYYY-MM-DDTHH:MM").
    confirm_start = BooleanField(_l("Book anyway"))
    warned_start = HiddenField()
    warned_other = HiddenField()

    def _wall(self, field) -> datetime | None:
        # A date the date field refused (outside the window) would overflow on conversion to UTC.
        if self.date.data is None or field.data is None or not within_date_window(self.date.data):
            return None
        return datetime.combine(self.date.data, field.data)

    def _wall_to_ask(self, field) -> datetime | None:
        """The time field's wall time to ask the service about, or None when the form refused it. A date the
        form refused still places the times, so the service checks the end against the start and the
        meeting's length too: on the date itself when it converts (the date window), else on STAND_IN_DAY.
        The service's refusals of that start are the date's, which the page shows its own error at."""
        if parsed(field) is None or self.date.data is None:
            return None
        if self.date.errors and not within_date_window(self.date.data):
            return datetime.combine(STAND_IN_DAY, field.data)
        return self._wall(field)

    def _refuse_unclear_time(self, field) -> None:
        # A time the clocks skip names no moment and one they repeat names two: neither can be booked.
        wall = self._wall(field)
        if wall is not None and not wall_time_exists(wall):
            raise ValidationError(SKIPPED_TIME)
        if wall is not None and wall_time_repeated(wall):
            raise ValidationError(repeated_time_message(wall))

    validate_starts = validate_ends = _refuse_unclear_time

    def _start_shown(self) -> datetime | None:
        return self._wall(self.starts)

    def _warned_start(self) -> datetime | None:
        """The start (local wall time) the page warned about, or None."""
        try:
            return datetime.strptime(self.warned_start.data or "", "%Y-%m-%dT%H:%M")
        except ValueError:
            return None

    def confirmed_start(self) -> datetime | None:
        """The start (aware UTC) the user confirmed despite the warning of another meeting then, or None."""
        warned = self._warned_start() if self.confirm_start.data else None
        if warned is None or not wall_time_exists(warned) or wall_time_repeated(warned):
            return None
        return local_to_utc(warned)

    def asks_to_confirm_start(self) -> bool:
        """True while the start shown is the start warned about: the page shows the tick to confirm it, with
        the warning (start_warning_by_tick or the start's own error)."""
        warned = self._warned_start()
        return warned is not None and warned == self._start_shown()

    def start_warning_by_tick(self):
        """The warning to show with the start's tick, or None while the start field shows it as its error
        (a tick refused for another field's error comes back without it, and alone says not what it
        confirms)."""
        if not self.asks_to_confirm_start() or not wall_time_exists(self._warned_start()):
            return None
        warning = same_start_warning(self._warned_other())
        errors = {str(error) for error in self.starts.errors}
        return None if str(warning) in errors else warning

    def _warned_other(self) -> tuple[datetime, datetime] | None:
        """The other meeting's start and end (aware UTC) the warning named, or None (not said, not times)."""
        try:
            walls = [datetime.strptime(each, "%Y-%m-%dT%H:%M") for each in self.warned_other.data.split("/")]
        except (AttributeError, ValueError):
            return None
        if len(walls) != 2 or not all(within_date_window(wall.date()) for wall in walls):
            return None
        return local_to_utc(walls[0]), local_to_utc(walls[1])

    def warn_same_start(self, starts_at: datetime, other: tuple[datetime, datetime]) -> None:
        """Show the tick with the warning about starts_at (aware), unticked: it confirms that start alone;
        other: the other meeting's start and end, which the warning names."""
        self.warned_start.data = to_local(starts_at).strftime("%Y-%m-%dT%H:%M")
        self.warned_other.data = "/".join(to_local(each).strftime("%Y-%m-%dT%H:%M") for each in other)
        self.confirm_start.data = False

    def to_data(self) -> dict:
        """Times as aware UTC, as sipflow.meetings.booking reads them; a field the form's own checks refused
        is left out (cases.forms.parsed), so the service is asked about the others (_wall_to_ask)."""
        starts, ends = self._wall_to_ask(self.starts), self._wall_to_ask(self.ends)
        return {
            "meeting_starts_at": local_to_utc(starts) if starts else None,
            "meeting_ends_at": local_to_utc(ends) if ends else None,
            "mode": parsed(self.mode),
            "location": parsed(self.location),
            "room": parsed(self.room),
            "confirmed_day": self.confirmed_day(),
            "confirmed_start": self.confirmed_start(),
        }

    def fill_from(self, starts_at: datetime, ends_at: datetime, mode: str, location, room) -> None:
        """Show a booked meeting's values (local time); a time outside the date window is left empty."""
        if within_date_window(starts_at) and within_date_window(ends_at):
            start, end = to_local(starts_at), to_local(ends_at)
            self.date.data, self.starts.data, self.ends.data = start.date(), start.time(), end.time()
        self.mode.data, self.location.data, self.room.data = mode, location, room


class BookingForm(ForgetsRemovedTicks, MeetingTimeForm):
    """Book a meeting and choose who is invited."""

    invitee_ids = MultiCheckboxField(_l("Invite"), coerce=int)

    def to_data(self) -> dict:
        return {**super().to_data(), "invitee_ids": list(self.invitee_ids.data or [])}


# The fields of a booked meeting the change form shows and, after a conflict, merges.
CHANGE_FIELDS = ("date", "starts", "ends", "mode", "location", "room")


class ChangeForm(MergesAsRead, MeetingTimeForm):
    """Move a booked meeting or change its form or place.

    shown carries the values the page showed (CHANGE_FIELDS), so that after someone else's change the
    form can tell what this user changed from what they left as it was (`MergesAsRead.merge_current`).
    """

    merged_fields = CHANGE_FIELDS

    def fill_from(self, starts_at: datetime, ends_at: datetime, mode: str, location, room) -> None:
        super().fill_from(starts_at, ends_at, mode, location, room)
        self.mark_as_read()


class InviteForm(ForgetsRemovedTicks, PageForm):
    """Invite more participants to a booked meeting."""

    version = _version_field()
    invitee_ids = MultiCheckboxField(_l("Invite"), coerce=int)


class EmptyForm(PageForm):
    """A button that only needs its CSRF token (cancel, withdraw an invitation, renew the feed)."""


class MeetingActionForm(PageForm):
    """A button on the meeting page (cancel, withdraw an invitation): its CSRF token and the SEQUENCE seen."""

    version = _version_field()


class _OffersModes:
    """A form with an answer_mode field: it offers only the ways of taking part that the meeting has."""

    def set_modes(self, modes: tuple[str, ...]) -> None:
        """Offer only the ways of taking part that the meeting has."""
        self.answer_mode.choices = choices((m, ANSWER_MODE_LABELS[m]) for m in modes)


class AnswerForm(_OffersModes, PageForm):
    """An invitee's answer: yes, maybe or no, how they take part, and a comment.

    version is the SEQUENCE the invitee was last sent when the page was shown: the answer is to that version.
    """

    version = _version_field()
    partstat = RadioField(
        _l("Your answer"),
        choices=choices(ANSWER_LABELS.items()),
        validators=[InputRequired(message=_l("Choose an answer."))],
    )
    answer_mode = RadioField(_l("I will take part"), choices=[], validators=[Optional()])
    comment = TextAreaField(_l("Comment (optional)"), validators=[Optional(), MaxLength(COMMENT_MAX)])


class StaffAnswerForm(_OffersModes, PageForm):
    """The answer an invitee called some other way gave the staff: yes, maybe or no, how, and a comment.

    How they take part is optional here (the invitee may not have said); given, it prefills the attendance
    of the meeting's outcome as the invitee's own answer does.

    version is the meeting's SEQUENCE the page was read at, shown the answer_digest of the answer it showed.
    """

    version = _version_field()
    shown = HiddenField(VERSION_LABEL, validators=[Optional(), MaxLength(64)])
    partstat = RadioField(
        _l("The invitee's answer"),
        # In the order the invitee's own answer page offers them: yes, maybe, no.
        choices=choices((p, PARTSTAT_LABELS[p]) for p in ANSWER_LABELS),
        validators=[InputRequired(message=_l("Choose an answer."))],
    )
    answer_mode = RadioField(_l("Takes part (if they said how)"), choices=[], validators=[Optional()])
    comment = TextAreaField(_l("Comment (optional)"), validators=[Optional(), MaxLength(COMMENT_MAX)])


def staff_answer_prefix(invitation_id: int) -> str:
    """Each invitee's answer form on the meeting page has fields (and ids) of its own."""
    return f"answer-{invitation_id}"


# --- The outcome of a held meeting -------------------------------------------------------------------------

CARER_SUPPORT_LABELS = {
    "asked": _l("Asked about their own support needs"),
    "not_asked": _l("Not asked"),
    "referred": _l("Asked and referred to anhörigstöd"),
}
CLASSIFICATION_LABELS = {
    "fully_digital": _l("Fully digital"),
    "partly_digital": _l("Partly digital"),
    "on_site": _l("On site"),
}
# Rows of decisions a page may hold: the no-JS "add more" adds DECISION_ROWS at a time up to this.
MAX_DECISION_ROWS = 40
ATTENDANCE_PREFIX, CARER_PREFIX = "attendance_", "carer_support_"
NOT_RECORDED = _l("Not recorded")


class DecisionRowForm(RowForm):
    """One decision or action of the meeting: what, who carries it out, by when (all three, or none)."""

    text = StringField(_l("Decision or action"), validators=[Optional(), MaxLength(1000)])
    # The service refuses an owner who is not taking part, at this row; the form only carries the value.
    owner = SelectField(_l("Who carries it out"), choices=[], validate_choice=False)
    due_on = date_field(_l("By when"))


class OutcomeForm(PageForm):
    """The outcome of a held meeting; one attendance (and carer support) choice per participant is added."""

    version = _version_field()
    meeting_id = SelectField(_l("Meeting"), coerce=int, validate_choice=True)
    held_at = DateTimeLocalField(
        _l("Held at"),
        # As every date and time typed: a time the daylight-saving night skips or shows twice is refused,
        # not read as a moment an hour away (which would move the meeting and its codes' day unsaid).
        validators=[
            InputRequired(message=REQUIRED),
            InDateWindow(),
            ExistingWallTime(),
            UnambiguousWallTime(),
        ],
        format=DATETIME_LOCAL_FORMATS,
    )
    moved = BooleanField(
        _l("The meeting was moved"), description=_l("Held on another day than it was booked for.")
    )
    decisions = RowList(
        FormField(DecisionRowForm),
        min_entries=DECISION_ROWS,
        max_entries=MAX_DECISION_ROWS,
        row_heading=lambda number: _l("Decision %(number)d", number=number),
    )
    no_change_reason = TextAreaField(
        _l("No change: the reason (instead of decisions)"), validators=[Optional(), MaxLength(1000)]
    )

    @classmethod
    def for_case(cls, attendees: list[tuple[int, str]], carers: list[tuple[int, str]]) -> type[OutcomeForm]:
        """A subclass with an attendance choice per participant and a carer-support choice per närstående."""
        subclass = type("OutcomeFormForCase", (cls,), {})
        modes = choices([("", NOT_RECORDED), *ATTENDANCE_LABELS.items()])
        for participant_id, label in attendees:
            setattr(subclass, f"{ATTENDANCE_PREFIX}{participant_id}", SelectField(label, choices=modes))
        answers = choices([("", NOT_RECORDED), *CARER_SUPPORT_LABELS.items()])
        for participant_id, label in carers:
            setattr(subclass, f"{CARER_PREFIX}{participant_id}", SelectField(label, choices=answers))
        return subclass

    # What the posted form chose for participants taken off the SIP since the page was read
    # (forget_removed): (name, attendance label) pairs, (name, carer-support label) pairs.
    removed_attendance: tuple[tuple[str, str], ...] = ()
    removed_carer_support: tuple[tuple[str, str], ...] = ()

    def forget_removed(
        self, formdata, removed: dict[int, str], owners_now: set[str], owners_then: dict
    ) -> None:
        """After a participant was taken off the SIP: their attendance and carer support, which the form no
        longer offers, are kept to be named beside the groups; a decision row owned by them keeps its text
        and loses its owner, named at the row (removed_owner), to be chosen again.

        removed: the removed participants' labels by id; owners_now: the owners offered now; owners_then:
        every owner's label, removed ones too.
        """

        def posted(prefix: str, labels: dict) -> tuple[tuple[str, str], ...]:
            return tuple(
                (name, str(labels[formdata.get(f"{prefix}{participant_id}")]))
                for participant_id, name in removed.items()
                if formdata.get(f"{prefix}{participant_id}") in labels
            )

        self.removed_attendance = posted(ATTENDANCE_PREFIX, ATTENDANCE_LABELS)
        self.removed_carer_support = posted(CARER_PREFIX, CARER_SUPPORT_LABELS)
        for entry in self.decisions:
            owner = entry.form.owner
            if owner.data and owner.data not in owners_now and owner.data in owners_then:
                entry.form.removed_owner = owners_then[owner.data]
                owner.data, owner.raw_data = "", [""]

    def mark_removed_owners(self) -> None:
        """Name, at each decision row whose owner left the SIP, who it was (after any validation)."""
        for entry in self.decisions:
            name = getattr(entry.form, "removed_owner", None)
            if name is None:
                continue
            message = _l(
                "%(name)s has been removed from the SIP. Choose who carries it out again.", name=name
            )
            if all(str(error) != str(message) for error in entry.form.owner.errors):
                entry.form.owner.errors = [message, *entry.form.owner.errors]

    def set_owners(self, owners: list[tuple[str, str]]) -> None:
        """Offer the case's organisations, units and persons as owners on every decision row."""
        self.owners = owners
        for entry in self.decisions:
            entry.form.owner.choices = choices([("", _l("Choose")), *owners])

    # The index of the first row add_rows added, whose first field takes the focus as the page loads, so a
    # keyboard user goes on where they asked for more rows (None: no row was added, nothing moves the focus).
    first_added_row: int | None = None

    def add_rows(self, count: int = DECISION_ROWS) -> None:
        """More empty decision rows (up to MAX_DECISION_ROWS), for a page without JavaScript."""
        added = min(count, MAX_DECISION_ROWS - len(self.decisions))
        if added > 0:
            self.first_added_row = len(self.decisions)
        for _ in range(added):
            self.decisions.append_entry()
        self.set_owners(self.owners)

    def by_prefix(self, prefix: str) -> list:
        """The per-participant choices whose names start with prefix."""
        return [f for name, f in self._fields.items() if name.startswith(prefix)]

    def to_data(self) -> dict:
        """What the meeting_outcome input reads: ids, aware UTC time, rows as typed (blank ones too); a field
        the form's own checks refused is left out (cases.forms.parsed), so the service is asked about the
        others."""

        def answers(prefix: str) -> dict[int, str]:
            return {int(f.name.removeprefix(prefix)): parsed(f) for f in self.by_prefix(prefix) if parsed(f)}

        held_at = parsed(self.held_at)
        return {
            "meeting_id": parsed(self.meeting_id) or None,
            "held_at": local_to_utc(held_at) if held_at else None,
            "moved": bool(self.moved.data),
            "attendance": answers(ATTENDANCE_PREFIX),
            "carer_support": answers(CARER_PREFIX),
            # Every row, blank ones too, so a refusal's row number is the row on the page.
            "decisions": [
                {
                    "text": parsed(entry.form.text) or "",
                    "owner": parsed(entry.form.owner) or "",
                    "due_on": parsed(entry.form.due_on),
                }
                for entry in self.decisions
            ],
            "no_change_reason": parsed(self.no_change_reason) or None,
        }
