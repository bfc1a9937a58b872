"""Indexes for the statistics: one period's SIP meetings from the index alone; cases by request date

Revision ID: e1f3a5b7c9d1
Revises: d0e2f4a6b8c1
Create Date: 2026-12-02 20:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "e1f3a5b7c9d1"
down_revision: str | None = "d0e2f4a6b8c1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ["held_on", "municipality_code", "meeting_id", "person_id", "meeting_kind", "kind", "sign"]


def upgrade() -> None:
    """Apply the change."""
    with op.batch_alter_table("code_record", schema=None) as batch_op:
        batch_op.create_index("ix_code_record_period_cover", COLUMNS, unique=False)
    with op.batch_alter_table("sipcase", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sipcase_requested_at"), ["requested_at"], unique=False)


def downgrade() -> None:
    """Undo the change."""
    with op.batch_alter_table("sipcase", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sipcase_requested_at"))
    with op.batch_alter_table("code_record", schema=None) as batch_op:
        batch_op.drop_index("ix_code_record_period_cover")
