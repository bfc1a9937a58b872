"""outboxmessage.reminder_id: the reminder whose sending wrote an outbox row

Each reminder reaches a person once: the dispatcher leaves out an address an earlier sending of the same
reminder wrote to. It inferred a sending's rows from their timing (written at the reminder's sent_at, from
its outbox_id up to the next reminder's first row of that dispatch), which held only while one dispatcher
wrote a reminder's rows in a row. Each row now records its reminder (indexed, for that look-up).

Back-filled with what is known for sure: each sent reminder's own outbox_id row (the first it wrote). The other rows written
before this upgrade (the rest of a unit's staff) stay NULL; at worst a person named after such a mail
(a colleague made contact person after their unit was told) gets that reminder once more.

The key is deferred (checked at commit): reminder.outbox_id points the other way.

Revision ID: a2b4c6d8e0f3
Revises: f1a3c5e7b9d2
Create Date: 2026-12-07 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a2b4c6d8e0f3"
down_revision: str | None = "f1a3c5e7b9d2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A reminder's outbox_id is the first row its sending wrote (only the dispatcher sets it).
BACKFILL = """
UPDATE outboxmessage
SET reminder_id = (SELECT reminder.id FROM reminder WHERE reminder.outbox_id = outboxmessage.id)
WHERE id IN (SELECT outbox_id FROM reminder WHERE outbox_id IS NOT NULL)
"""


def upgrade() -> None:
    """Apply the change."""
    with op.batch_alter_table("outboxmessage", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reminder_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_outboxmessage_reminder_id"), ["reminder_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_outboxmessage_reminder_id_reminder"),
            "reminder",
            ["reminder_id"],
            ["id"],
            deferrable=True,
            initially="DEFERRED",
        )
    op.execute(BACKFILL)


def downgrade() -> None:
    """Undo the change."""
    with op.batch_alter_table("outboxmessage", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_outboxmessage_reminder_id_reminder"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_outboxmessage_reminder_id"))
        batch_op.drop_column("reminder_id")
