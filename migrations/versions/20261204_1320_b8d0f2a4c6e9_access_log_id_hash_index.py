"""access_log: an index on id_hash, so a person's loggutdrag finds the searches for their number

Revision ID: b8d0f2a4c6e9
Revises: a7c9e1f3b5d8
Create Date: 2026-12-04 13:20:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "b8d0f2a4c6e9"
down_revision: str | None = "a7c9e1f3b5d8"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply the change."""
    op.create_index("ix_access_log_id_hash", "access_log", ["id_hash"], unique=False)


def downgrade() -> None:
    """Undo the change."""
    op.drop_index("ix_access_log_id_hash", table_name="access_log")
