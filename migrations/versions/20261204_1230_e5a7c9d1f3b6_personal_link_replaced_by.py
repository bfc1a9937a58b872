"""personallink: the newer link that replaced a link sent to the same participant

Revision ID: e5a7c9d1f3b6
Revises: d4f6a8b0c2e5
Create Date: 2026-12-04 12:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "e5a7c9d1f3b6"
down_revision: str | None = "d4f6a8b0c2e5"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply the change."""
    with op.batch_alter_table("personallink", schema=None) as batch_op:
        batch_op.add_column(sa.Column("replaced_by_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_personallink_replaced_by_id_personallink"), "personallink", ["replaced_by_id"], ["id"]
        )


def downgrade() -> None:
    """Undo the change."""
    with op.batch_alter_table("personallink", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_personallink_replaced_by_id_personallink"), type_="foreignkey")
        batch_op.drop_column("replaced_by_id")
