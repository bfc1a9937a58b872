"""The recipient's language: on users (staff) and on participants (the person, närstående, external staff)

Revision ID: f2a4c6e8b0d2
Revises: e1f3a5b7c9d1
Create Date: 2026-12-02 21:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "f2a4c6e8b0d2"
down_revision: str | None = "e1f3a5b7c9d1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Existing users and participants get Swedish, the language everything was written in until now.
TABLES = ("user", "participant")


def upgrade() -> None:
    """Apply the change."""
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("language", sa.String(length=8), server_default="sv", nullable=False))


def downgrade() -> None:
    """Undo the change."""
    for table in reversed(TABLES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("language")
