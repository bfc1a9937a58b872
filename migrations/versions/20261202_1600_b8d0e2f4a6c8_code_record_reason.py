"""Why a code record was reversed (a correction's reason)

Revision ID: b8d0e2f4a6c8
Revises: c9d1e3f5a7b9
Create Date: 2026-12-02 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b8d0e2f4a6c8"
down_revision: str | None = "c9d1e3f5a7b9"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply the change."""
    with op.batch_alter_table("code_record", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reason", sa.String(length=500), nullable=True))


def downgrade() -> None:
    """Undo the change."""
    with op.batch_alter_table("code_record", schema=None) as batch_op:
        batch_op.drop_column("reason")
