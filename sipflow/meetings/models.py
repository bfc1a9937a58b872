"""SIP meetings, who is invited to them (and how they answered), and who attended in which way."""

from __future__ import annotations

import secrets
import uuid
from datetime import date, datetime

from sqlalchemy import Index, UniqueConstraint, and_, func
from sqlalchemy.ext.hybrid import hybrid_property
from sqlmodel import Field, SQLModel

from sipflow.config import VIDEO_URL_MAX_LENGTH

MEETING_MODES = ("on_site", "video", "mixed")
ATTENDANCE_MODES = ("on_site", "video", "phone", "absent")
# The attendance of a participant who did not take part.
ABSENT = ATTENDANCE_MODES[-1]
# A meeting's own status (not a workflow state): booked, held, or called off.
PLANNED, HELD, CANCELLED = MEETING_STATUSES = ("planned", "held", "cancelled")
# What a meeting counts as (Meeting.kind, copied into its code records): the SIP's first meeting, the one held
# first, or a follow-up. Settled when a meeting is recorded as held (services.settle_meeting_kinds).
FIRST, FOLLOW_UP = MEETING_KINDS = ("first", "follow_up")
# session.info key, for the rest of the transaction: {case id: every meeting of the case, the session's own
# objects, as a step read them (outcome.step_meetings), with the meeting it booked}.
STEP_MEETINGS = "sipflow.meetings.step_meetings"
# session.info key, for the rest of the transaction: {case id: the planned meetings whose claim wrote further
# columns (an outcome's held columns, the held time: services.move_to_held_time)}: no flush shows that change,
# the reminders' reconciliation takes it from here as from a flush of the meeting.
WRITTEN_BY_CLAIM = "sipflow.meetings.written_by_claim"
# iTIP participation status (RFC 5545 PARTSTAT) an invitee can hold.
PARTSTATS = ("NEEDS-ACTION", "ACCEPTED", "DECLINED", "TENTATIVE")
# The ways an invitee says they will take part; "absent" is not one (that is PARTSTAT=DECLINED).
ANSWER_MODES = ("on_site", "video", "phone")
# How an invitee is called: by sipflow's e-mail, or by the booking staff some other way (letter, phone).
EMAIL, OTHER = INVITATION_CHANNELS = ("email", "other")
# How digital a held meeting was, from its attendance (SIP.md §5): nobody on site, some remote, all on site.
CLASSIFICATIONS = ("fully_digital", "partly_digital", "on_site")
ANSWER_SOURCES = ("link", "itip", "staff")
# For a närstående at a meeting: asked about their own support needs, and referred to anhörigstöd.
CARER_SUPPORT_ANSWERS = ("asked", "not_asked", "referred")


def new_ical_uid() -> str:
    """A globally unique iCalendar UID; random, so it says nothing about the case or the person."""
    return f"{uuid.uuid4().hex}@sipflow"


def new_nonce() -> str:
    """A random value that signed answer links carry; replacing it kills every link issued before."""
    return secrets.token_hex(16)


class Meeting(SQLModel, table=True):
    """A SIP meeting: first meeting or follow-up, on site, by video or mixed."""

    # Att göra reads the coming meetings one user booked, soonest first; and the planned meetings already
    # begun (their outcome not recorded), oldest first by (start, case), from the planned ones' part alone,
    # asking of each whether its case has a planned meeting before it (a case's planned ones, by start).
    __table_args__ = (
        Index("ix_meeting_booked_by_user_id_starts_at", "booked_by_user_id", "starts_at"),
        Index("ix_meeting_status_starts_at_case_id", "status", "starts_at", "case_id"),
        Index("ix_meeting_case_id_status_starts_at", "case_id", "status", "starts_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="sipcase.id")
    # The iTIP UID: the same for the meeting's whole life, so every update replaces the calendar entry.
    uid: str = Field(default_factory=new_ical_uid, max_length=80, unique=True)
    # Raised on every change sent to invitees (move, place, cancel); calendars ignore an older SEQUENCE.
    sequence: int = 0
    # first | follow_up (MEETING_KINDS): provisional while booked, settled when a meeting is held.
    kind: str = Field(default=FIRST, max_length=12)
    status: str = Field(default=PLANNED, max_length=12)
    mode: str = Field(max_length=10)
    starts_at: datetime = Field(index=True)
    ends_at: datetime
    # The address for an on-site or mixed meeting; room is the room within it.
    location: str | None = Field(default=None, max_length=200)
    room: str | None = Field(default=None, max_length=120)
    video_url: str | None = Field(default=None, max_length=VIDEO_URL_MAX_LENGTH)
    booked_by_user_id: int | None = Field(default=None, foreign_key="user.id")
    held_at: datetime | None = None
    # Held on another day than booked, said so on purpose when the outcome was recorded.
    moved: bool = False
    # Derived from the attendance when the outcome is recorded; kept, since statistics count it.
    classification: str | None = Field(default=None, max_length=16)
    # An outcome without decisions states why nothing changes.
    no_change_reason: str | None = Field(default=None, max_length=1000)
    cancelled_at: datetime | None = None
    updated_at: datetime | None = None

    @property
    def offered_video_url(self) -> str | None:
        """The video link the pages, mails and calendars offer: only while the meeting is planned. A cancelled
        meeting's leads nowhere anyone should go, a held one's to a meeting that is over; the stored one is
        kept either way, as the meeting's record (its mode still says it was by video)."""
        return self.video_url if self.status == PLANNED else None


class Invitation(SQLModel, table=True):
    """One participant invited to one meeting: how they are called, and their answer."""

    # Hybrid properties are SQLAlchemy descriptors, not pydantic fields.
    model_config = {"ignored_types": (hybrid_property,)}

    __table_args__ = (UniqueConstraint("meeting_id", "participant_id"),)

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id", index=True)
    participant_id: int = Field(foreign_key="participant.id", index=True)
    channel: str = Field(default="email", max_length=8)
    # The address the invitation goes to. A change of the participant's address moves the invitations to
    # meetings ahead to the new one (services.follow_address); those of meetings begun or over keep theirs.
    email: str | None = Field(default=None, max_length=254)
    role: str = Field(default="REQ-PARTICIPANT", max_length=20)
    partstat: str = Field(default="NEEDS-ACTION", max_length=16)
    answer_mode: str | None = Field(default=None, max_length=10)
    comment: str | None = Field(default=None, max_length=1000)
    answered_at: datetime | None = None
    answered_via: str | None = Field(default=None, max_length=8)
    # The staff member who recorded the answer of an invitee called some other way (answered_via "staff").
    answered_by_user_id: int | None = Field(default=None, foreign_key="user.id")
    # When the answer in force was given (a REPLY's DTSTAMP, or the moment of a link or staff answer) and
    # the SEQUENCE it answered: an iTIP REPLY that is older by both is ignored, since mail can arrive late.
    answered_dtstamp: datetime | None = None
    answered_sequence: int | None = None
    # The SEQUENCE of the last REQUEST this invitee was sent; a REPLY to an older one is outdated.
    sequence: int = 0
    token_nonce: str = Field(default_factory=new_nonce, max_length=32)
    invited_at: datetime
    removed_at: datetime | None = None

    @hybrid_property
    def active(self) -> bool:
        """Still invited (not removed): the one spelling of the rule, in Python and SQL."""
        return self.removed_at is None

    @active.inplace.expression
    @classmethod
    def _active_expression(cls):
        return cls.removed_at.is_(None)

    @hybrid_property
    def awaiting_answer(self) -> bool:
        """Still invited and not yet answered: what Att göra and the reminders count as unanswered."""
        return self.removed_at is None and self.partstat == "NEEDS-ACTION"

    @awaiting_answer.inplace.expression
    @classmethod
    def _awaiting_answer_expression(cls):
        return and_(cls.removed_at.is_(None), cls.partstat == "NEEDS-ACTION")

    @hybrid_property
    def answers_through_staff(self) -> bool:
        """Still invited and called some other way (no e-mail): the staff record the answer it gives them."""
        return self.removed_at is None and self.channel == OTHER

    @answers_through_staff.inplace.expression
    @classmethod
    def _answers_through_staff_expression(cls):
        return and_(cls.removed_at.is_(None), cls.channel == OTHER)


# A staff member's calendar feed finds the invitations sent to their address, whatever its case, as a mail's
# recipients are found among the users by lower(email) (meetings.feed).
Index("ix_invitation_email_lower", func.lower(Invitation.__table__.c.email))


class Attendance(SQLModel, table=True):
    """How one participant attended one meeting."""

    meeting_id: int = Field(foreign_key="meeting.id", primary_key=True)
    participant_id: int = Field(foreign_key="participant.id", primary_key=True)
    mode: str = Field(max_length=10)
    # For a närstående: asked about their own support needs / referred to anhörigstöd (CARER_SUPPORT_ANSWERS).
    carer_support: str | None = Field(default=None, max_length=10)


class MeetingDecision(SQLModel, table=True):
    """A decision or action of a held meeting: what, whose (organisation, unit or person) and by when."""

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id", index=True)
    text: str = Field(max_length=1000)
    organisation_id: int | None = Field(default=None, foreign_key="organisation.id")
    unit_id: int | None = Field(default=None, foreign_key="unit.id")
    # A person taking part (the person, a närstående) who owns the action.
    participant_id: int | None = Field(default=None, foreign_key="participant.id")
    due_on: date
    position: int = 0
