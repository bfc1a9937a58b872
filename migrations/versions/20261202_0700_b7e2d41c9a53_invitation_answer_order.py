"""invitation: the DTSTAMP and SEQUENCE of the answer in force, to apply calendar replies in order

Revision ID: b7e2d41c9a53
Revises: b7c41e9a2d10
Create Date: 2026-12-02 07:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b7e2d41c9a53"
down_revision: str | None = "b7c41e9a2d10"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply the change."""
    with op.batch_alter_table("invitation", schema=None) as batch_op:
        batch_op.add_column(sa.Column("answered_dtstamp", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("answered_sequence", sa.Integer(), nullable=True))


def downgrade() -> None:
    """Undo the change."""
    with op.batch_alter_table("invitation", schema=None) as batch_op:
        batch_op.drop_column("answered_sequence")
        batch_op.drop_column("answered_dtstamp")
