"""participant: who added a participant to a SIP

A närstående or guardian added twice from one page (a double click, a resend) was refused the second time
as "someone else changed this SIP": who added the row now tells the sender's own add of a moment ago apart
from someone else's (cases.services.own_private_participant_just_added). Rows added before are unattributed
(NULL), as are the organisations' units and the person themselves.

Revision ID: c4d6e8f0a2b5
Revises: e8a0c2d4f6b9
Create Date: 2026-12-10 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c4d6e8f0a2b5"
down_revision: str | None = "e8a0c2d4f6b9"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply the change."""
    with op.batch_alter_table("participant", schema=None) as batch_op:
        batch_op.add_column(sa.Column("added_by_user_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_participant_added_by_user_id_user"), "user", ["added_by_user_id"], ["id"]
        )


def downgrade() -> None:
    """Undo the change."""
    with op.batch_alter_table("participant", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_participant_added_by_user_id_user"), type_="foreignkey")
        batch_op.drop_column("added_by_user_id")
