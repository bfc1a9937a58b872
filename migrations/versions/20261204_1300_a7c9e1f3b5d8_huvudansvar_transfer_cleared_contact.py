"""huvudansvartransfer: the plan's huvudansvar contact a hand-over cleared

Revision ID: a7c9e1f3b5d8
Revises: e5a7c9b1d3f6
Create Date: 2026-12-04 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a7c9e1f3b5d8"
down_revision: str | None = "e5a7c9b1d3f6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply the change."""
    with op.batch_alter_table("huvudansvartransfer", schema=None) as batch_op:
        batch_op.add_column(sa.Column("cleared_contact", sa.String(length=160), nullable=True))


def downgrade() -> None:
    """Undo the change."""
    with op.batch_alter_table("huvudansvartransfer", schema=None) as batch_op:
        batch_op.drop_column("cleared_contact")
