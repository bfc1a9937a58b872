"""admin_change: the administration log (who changed what, when, before and after)

Revision ID: c9d1e3f5a7b9
Revises: b8c0d2e4f6a8
Create Date: 2026-12-02 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "c9d1e3f5a7b9"
down_revision: str | None = "b8c0d2e4f6a8"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply the change."""
    op.create_table(
        "admin_change",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_user_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("target_kind", sa.String(length=20), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=True),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["actor_user_id"], ["user.id"], name=op.f("fk_admin_change_actor_user_id_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_admin_change")),
    )
    with op.batch_alter_table("admin_change", schema=None) as batch_op:
        batch_op.create_index("ix_admin_change_at_id", ["at", "id"], unique=False)
        batch_op.create_index("ix_admin_change_target", ["target_kind", "target_id"], unique=False)


def downgrade() -> None:
    """Undo the change."""
    with op.batch_alter_table("admin_change", schema=None) as batch_op:
        batch_op.drop_index("ix_admin_change_target")
        batch_op.drop_index("ix_admin_change_at_id")

    op.drop_table("admin_change")
