"""organisation, unit, user: a row version, so an edit form read before another change is refused

Revision ID: f8b0c2d4e6a8
Revises: e7a9b1c3d5f7
Create Date: 2026-12-03 21:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "f8b0c2d4e6a8"
down_revision: str | None = "e7a9b1c3d5f7"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Existing rows start at version 1, as new ones do.
TABLES = ("organisation", "unit", "user")


def upgrade() -> None:
    """Apply the change."""
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("row_version", sa.Integer(), server_default="1", nullable=False))


def downgrade() -> None:
    """Undo the change."""
    for table in reversed(TABLES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("row_version")
