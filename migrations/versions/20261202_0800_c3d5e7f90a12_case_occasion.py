"""sipcase: the occasion of a SIP gets its own name (trigger means a transition's event only)

Revision ID: c3d5e7f90a12
Revises: b7e2d41c9a53
Create Date: 2026-12-02 08:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c3d5e7f90a12"
down_revision: str | None = "b7e2d41c9a53"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply the change."""
    with op.batch_alter_table("sipcase", schema=None) as batch_op:
        batch_op.alter_column(
            "trigger",
            new_column_name="occasion",
            existing_type=sa.String(length=16),
            type_=sa.String(length=40),
            existing_nullable=False,
        )


def downgrade() -> None:
    """Undo the change."""
    with op.batch_alter_table("sipcase", schema=None) as batch_op:
        batch_op.alter_column(
            "occasion",
            new_column_name="trigger",
            existing_type=sa.String(length=40),
            type_=sa.String(length=16),
            existing_nullable=False,
        )
