"""participant: who removed a participant from a SIP, and why

Revision ID: e7a9b1c3d5f7
Revises: d6f8a0b2c4e6
Create Date: 2026-12-03 20:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "e7a9b1c3d5f7"
down_revision: str | None = "d6f8a0b2c4e6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply the change."""
    with op.batch_alter_table("participant", schema=None) as batch_op:
        batch_op.add_column(sa.Column("removed_by_user_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("removed_reason", sa.String(length=500), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_participant_removed_by_user_id_user"), "user", ["removed_by_user_id"], ["id"]
        )


def downgrade() -> None:
    """Undo the change."""
    with op.batch_alter_table("participant", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_participant_removed_by_user_id_user"), type_="foreignkey")
        batch_op.drop_column("removed_reason")
        batch_op.drop_column("removed_by_user_id")
