"""Reminder rows: one e-mail to one recipient at one moment, written with the change that causes it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

PENDING = "pending"
CLAIMED = "claimed"
SENT = "sent"
SKIPPED = "skipped"
FAILED = "failed"
CANCELLED = "cancelled"
UNDELIVERABLE = "undeliverable"
STATUSES = (PENDING, CLAIMED, SENT, SKIPPED, FAILED, CANCELLED, UNDELIVERABLE)

# Why the dispatcher skipped a reminder (Reminder.skip_reason, shown on the administration's list).
SKIP_CASE_ENDED = "case_ended"  # the SIP reached a final state
SKIP_MEETING_OFF = "meeting_off"  # the meeting was cancelled or held
# What it tells of ahead ("today", "in N days", "tomorrow") had come by the time it was sent.
SKIP_PASSED = "passed"
# A "meeting tomorrow" written within the day before: the invitation just sent says it.
SKIP_WRITTEN_LATE = "written_late"
SKIP_ANSWERED = "answered"  # every invitation of the meeting is answered
SKIP_DEADLINE_SETTLED = "deadline_settled"  # the deadline was met or cancelled
SKIP_EFFORT_SETTLED = "effort_settled"  # the effort is no longer planned or ongoing
# The effort's end date was moved to today or later after its "past its end date" reminder was written.
SKIP_EFFORT_MOVED = "effort_moved"
SKIP_BY_NAME = "by_name"  # everyone a unit's reminder would reach has the same one by name
# Everyone it would reach already had the same reminder (by name, through their unit or at the unit's address
# on the case): a contact person named after their unit was told does not hear of it again.
SKIP_ALREADY_SENT = "already_sent"
# A workflow file's reminder to a party whose unit has neither a contact person nor an address on the case:
# it has no one to go to.
SKIP_NO_CONTACT = "no_contact"
# Its recipient (a user, a unit, a unit's address on the case) is of an organisation that no longer sees the
# SIP (security.access: the consent ran out, was withdrawn for it, or it left the SIP).
SKIP_NOT_COVERED = "not_covered"
# Its SIP's workflow version has no loaded file, or the file no longer defines the SIP's state: it waits for
# the file to be put back (and the app restarted), then for an administrator's "send again".
SKIP_WORKFLOW_MISSING = "workflow_missing"
SKIP_REASONS = (
    SKIP_CASE_ENDED,
    SKIP_MEETING_OFF,
    SKIP_PASSED,
    SKIP_WRITTEN_LATE,
    SKIP_ANSWERED,
    SKIP_DEADLINE_SETTLED,
    SKIP_EFFORT_SETTLED,
    SKIP_EFFORT_MOVED,
    SKIP_BY_NAME,
    SKIP_ALREADY_SENT,
    SKIP_NO_CONTACT,
    SKIP_NOT_COVERED,
    SKIP_WORKFLOW_MISSING,
)

# The kinds every case gets; a reminder a workflow file declares is of kind WORKFLOW.
INVITATION_UNANSWERED = "invitation_unanswered"
MEETING_TOMORROW = "meeting_tomorrow"
DEADLINE_SOON = "deadline_soon"
DEADLINE_DUE = "deadline_due"
DEADLINE_MISSED = "deadline_missed"
DEADLINE_ESCALATED = "deadline_escalated"
EFFORT_OVERDUE = "effort_overdue"
WORKFLOW = "workflow"
KINDS = (
    INVITATION_UNANSWERED,
    MEETING_TOMORROW,
    DEADLINE_SOON,
    DEADLINE_DUE,
    DEADLINE_MISSED,
    DEADLINE_ESCALATED,
    EFFORT_OVERDUE,
    WORKFLOW,
)


class Reminder(SQLModel, table=True):
    """A reminder: what it is about, to whom, when; its dispatch (claim, outcome) and its outbox row.

    dedupe_key is unique: the same reminder (kind, subject, recipient, the moment it is about and, for a
    deadline, which one) can be written once only, whichever code path tries. Its part before '@' is the
    reminder's slot: a pending reminder whose moment moves (a meeting moved, a new follow-up date) keeps its
    row and takes the new key.
    """

    # The dispatcher's query (pending, due, oldest first) reads this index alone.
    __table_args__ = (Index("ix_reminder_due", "status", "due_at", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=24)
    dedupe_key: str = Field(max_length=160, unique=True)
    case_id: int = Field(foreign_key="sipcase.id", index=True)
    meeting_id: int | None = Field(default=None, foreign_key="meeting.id")
    invitation_id: int | None = Field(default=None, foreign_key="invitation.id")
    deadline_id: int | None = Field(default=None, foreign_key="deadline.id")
    effort_id: int | None = Field(default=None, foreign_key="planeffort.id")
    # The workflow file's reminder name (kind WORKFLOW) or the deadline's kind: what the text is about.
    topic: str | None = Field(default=None, max_length=40)
    template: str = Field(max_length=40)
    # One of: a staff member, a meeting invitee (invitation_id), a unit's staff, or an address as given.
    recipient_user_id: int | None = Field(default=None, foreign_key="user.id")
    recipient_unit_id: int | None = Field(default=None, foreign_key="unit.id")
    recipient_address: str | None = Field(default=None, max_length=254)
    due_at: datetime
    status: str = Field(default=PENDING, max_length=16)
    claimed_at: datetime | None = None
    claimed_by: str | None = Field(default=None, max_length=40)
    sent_at: datetime | None = None
    # Sent after its moment had passed by more than the scheduler's tick (the scheduler was down).
    late: bool = False
    attempts: int = 0
    # Why it was skipped (one of SKIP_REASONS), for a skipped one.
    skip_reason: str | None = Field(default=None, max_length=24)
    # The error's class name only: never an address, a name or a message text.
    last_error: str | None = Field(default=None, max_length=200)
    outbox_id: int | None = Field(default=None, foreign_key="outboxmessage.id")
    created_at: datetime
    # The moment the reminder tells of (its deadline's, its meeting's start, a declared reminder's anchor;
    # None for an overdue effort's): a row of its slot already sent about the same moment is the same
    # reminder, told at another time of day by a release that timed it otherwise, never a new one.
    anchor_at: datetime | None = None

    @property
    def slot(self) -> str:
        """The dedupe key without its moment: the same reminder at another time has the same slot."""
        return self.dedupe_key.rpartition("@")[0]
