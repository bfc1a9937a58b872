"""reminder.anchor_at: the moment a reminder tells of, so one told already is not told again after an upgrade

A release that times a reminder otherwise (07:00 of its day instead of 23:59, a working day back) wants, for a
deadline or meeting already reminded of, a row at another moment than the one sent: reconciling it (`reminders
reconcile` after the upgrade, or any step of the case) wrote it as a new reminder and the dispatcher sent it,
late, a second time. From this release each row keeps the moment it tells of (its deadline's, its meeting's
start, a declared reminder's anchor), and a row of the slot already sent about that moment is the reminder
wanted. This revision gives the rows already written that moment where it can be read without the workflow
files: a deadline's reminders their deadline's due time, a meeting's its start (a declared reminder's stays
empty). Its downgrade drops the column.

Revision ID: b9d1f3a5c7e8
Revises: c5e7a9b1d3f4
Create Date: 2026-12-21 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b9d1f3a5c7e8"
down_revision: str | None = "c5e7a9b1d3f4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

REMINDER = sa.table(
    "reminder",
    sa.column("id", sa.Integer),
    sa.column("deadline_id", sa.Integer),
    sa.column("meeting_id", sa.Integer),
    sa.column("anchor_at", sa.DateTime(timezone=True)),
)
DEADLINE = sa.table("deadline", sa.column("id", sa.Integer), sa.column("due_at", sa.DateTime(timezone=True)))
MEETING = sa.table("meeting", sa.column("id", sa.Integer), sa.column("starts_at", sa.DateTime(timezone=True)))


def upgrade() -> None:
    """Apply the change."""
    with op.batch_alter_table("reminder", schema=None) as batch_op:
        batch_op.add_column(sa.Column("anchor_at", sa.DateTime(timezone=True), nullable=True))
    deadline_due = (
        sa.select(DEADLINE.c.due_at).where(DEADLINE.c.id == REMINDER.c.deadline_id).scalar_subquery()
    )
    op.execute(REMINDER.update().where(REMINDER.c.deadline_id.is_not(None)).values(anchor_at=deadline_due))
    meeting_start = (
        sa.select(MEETING.c.starts_at).where(MEETING.c.id == REMINDER.c.meeting_id).scalar_subquery()
    )
    op.execute(
        REMINDER.update()
        .where(REMINDER.c.deadline_id.is_(None), REMINDER.c.meeting_id.is_not(None))
        .values(anchor_at=meeting_start)
    )


def downgrade() -> None:
    """Undo the change."""
    with op.batch_alter_table("reminder", schema=None) as batch_op:
        batch_op.drop_column("anchor_at")
