"""The outbox: one row per e-mail, written in the transaction that causes it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, ForeignKey, Index, Integer, Text
from sqlmodel import Field, SQLModel

# pending -> sending -> sent; a failed attempt goes back to pending (later) until attempts run out: failed.
# A row left in sending by a process that died mid-delivery becomes uncertain, never sent again
# (at most once: a second copy of a kallelse is worse than a visible "check this one").
OUTBOX_STATUSES = ("pending", "sending", "sent", "failed", "uncertain")
# forward: a mail to MAIL_FROM that is no calendar answer, handed on to a person (meetings/forwarding.py);
# plan_link: a personal link to the person's plans (plans/personal_links.py); reminder: reminders/;
# password: a set-password link, an invitation or a reset (admin/users.py).
OUTBOX_KINDS = ("request", "update", "cancel", "forward", "plan_link", "reminder", "password")
PLAN_LINK_KIND = "plan_link"
# The kinds whose link is a credential of its recipient alone: a personal link opens every plan of the
# person (also of SIPs the case's other parties are not in), a password link the recipient's account.
PERSONAL_KINDS = ("plan_link", "password")


class OutboxMessage(SQLModel, table=True):
    """An e-mail waiting for, or done with, delivery."""

    # The deliverer's query (pending, due, oldest first) reads this index alone: without it SQLite sorts the
    # pending rows and reads each one's message pages to get at next_attempt_at (bench/outbox.py).
    __table_args__ = (Index("ix_outboxmessage_due", "status", "next_attempt_at", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=12)
    case_id: int | None = Field(default=None, foreign_key="sipcase.id", index=True)
    invitation_id: int | None = Field(default=None, foreign_key="invitation.id", index=True)
    # The reminder whose sending wrote it (kind "reminder"): whom a reminder reached, each of a unit's staff
    # as they were then (reminders/services.py _mailed_before reads it by this index). Named by table, not
    # imported: notifications sits below reminders. Reminder.outbox_id points the other way, so this key is
    # left out of the tables' order (use_alter) and checked at commit (deferred): a transaction writing or
    # deleting both tables' rows, in either order, never trips it halfway.
    reminder_id: int | None = Field(
        default=None,
        sa_column=Column(
            Integer,
            ForeignKey("reminder.id", use_alter=True, deferrable=True, initially="DEFERRED"),
            nullable=True,
            index=True,
        ),
    )
    recipient: str = Field(max_length=254)
    subject: str = Field(max_length=300)
    # The whole message as RFC 5322 text (7-bit: every part is base64 or quoted-printable encoded).
    message: str = Field(sa_column=Column(Text, nullable=False))
    message_id: str = Field(max_length=200)
    status: str = Field(default="pending", max_length=12, index=True)
    attempts: int = 0
    next_attempt_at: datetime = Field(index=True)
    claimed_at: datetime | None = None
    sent_at: datetime | None = None
    last_error: str | None = Field(default=None, max_length=500)
    created_at: datetime
