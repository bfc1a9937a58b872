"""invitation: who on the staff recorded the answer of an invitee called some other way

Revision ID: d4f6a8c0e2b4
Revises: c5e7a9b1d3f5
Create Date: 2026-12-03 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "d4f6a8c0e2b4"
down_revision: str | None = "c5e7a9b1d3f5"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply the change."""
    with op.batch_alter_table("invitation", schema=None) as batch_op:
        batch_op.add_column(sa.Column("answered_by_user_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_invitation_answered_by_user_id_user"), "user", ["answered_by_user_id"], ["id"]
        )


def downgrade() -> None:
    """Undo the change."""
    with op.batch_alter_table("invitation", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_invitation_answered_by_user_id_user"), type_="foreignkey")
        batch_op.drop_column("answered_by_user_id")
