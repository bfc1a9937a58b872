"""personallink: the address each link was mailed to, so the links page shows it after a correction

Revision ID: a1c3e5f7b9d2
Revises: f8b0c2d4e6a8
Create Date: 2026-12-04 05:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a1c3e5f7b9d2"
down_revision: str | None = "f8b0c2d4e6a8"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply the change."""
    with op.batch_alter_table("personallink", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sent_to", sa.String(length=254), nullable=True))


def downgrade() -> None:
    """Undo the change."""
    with op.batch_alter_table("personallink", schema=None) as batch_op:
        batch_op.drop_column("sent_to")
