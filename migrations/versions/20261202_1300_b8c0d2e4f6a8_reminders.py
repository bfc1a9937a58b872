"""Reminders: one row per reminder with its unique dedupe key, and the dispatcher's (status, due_at) index.

Revision ID: b8c0d2e4f6a8
Revises: a7b9c1d3e5f7
Create Date: 2026-12-02 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b8c0d2e4f6a8"
down_revision: str | None = "a7b9c1d3e5f7"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply the change."""
    op.create_table(
        "reminder",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("dedupe_key", sa.String(length=160), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=True),
        sa.Column("invitation_id", sa.Integer(), nullable=True),
        sa.Column("deadline_id", sa.Integer(), nullable=True),
        sa.Column("effort_id", sa.Integer(), nullable=True),
        sa.Column("topic", sa.String(length=40), nullable=True),
        sa.Column("template", sa.String(length=40), nullable=False),
        sa.Column("recipient_user_id", sa.Integer(), nullable=True),
        sa.Column("recipient_unit_id", sa.Integer(), nullable=True),
        sa.Column("recipient_address", sa.String(length=254), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claimed_by", sa.String(length=40), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=200), nullable=True),
        sa.Column("outbox_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["sipcase.id"], name=op.f("fk_reminder_case_id_sipcase")),
        sa.ForeignKeyConstraint(["meeting_id"], ["meeting.id"], name=op.f("fk_reminder_meeting_id_meeting")),
        sa.ForeignKeyConstraint(
            ["invitation_id"], ["invitation.id"], name=op.f("fk_reminder_invitation_id_invitation")
        ),
        sa.ForeignKeyConstraint(
            ["deadline_id"], ["deadline.id"], name=op.f("fk_reminder_deadline_id_deadline")
        ),
        sa.ForeignKeyConstraint(
            ["effort_id"], ["planeffort.id"], name=op.f("fk_reminder_effort_id_planeffort")
        ),
        sa.ForeignKeyConstraint(
            ["recipient_user_id"], ["user.id"], name=op.f("fk_reminder_recipient_user_id_user")
        ),
        sa.ForeignKeyConstraint(
            ["recipient_unit_id"], ["unit.id"], name=op.f("fk_reminder_recipient_unit_id_unit")
        ),
        sa.ForeignKeyConstraint(
            ["outbox_id"], ["outboxmessage.id"], name=op.f("fk_reminder_outbox_id_outboxmessage")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reminder")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_reminder_dedupe_key")),
    )
    with op.batch_alter_table("reminder", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reminder_case_id"), ["case_id"], unique=False)
        batch_op.create_index("ix_reminder_due", ["status", "due_at", "id"], unique=False)


def downgrade() -> None:
    """Revert the change."""
    with op.batch_alter_table("reminder", schema=None) as batch_op:
        batch_op.drop_index("ix_reminder_due")
        batch_op.drop_index(batch_op.f("ix_reminder_case_id"))
    op.drop_table("reminder")
