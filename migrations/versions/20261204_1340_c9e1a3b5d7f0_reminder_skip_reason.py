"""reminder: why the dispatcher skipped one

Revision ID: c9e1a3b5d7f0
Revises: b8d0f2a4c6e9
Create Date: 2026-12-04 13:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c9e1a3b5d7f0"
down_revision: str | None = "b8d0f2a4c6e9"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply the change."""
    with op.batch_alter_table("reminder", schema=None) as batch_op:
        batch_op.add_column(sa.Column("skip_reason", sa.String(length=24), nullable=True))


def downgrade() -> None:
    """Undo the change."""
    with op.batch_alter_table("reminder", schema=None) as batch_op:
        batch_op.drop_column("skip_reason")
