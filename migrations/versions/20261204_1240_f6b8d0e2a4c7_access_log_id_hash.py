"""access_log: the keyed hash of an identifier a look-up found nobody under (hashed when present)

Revision ID: f6b8d0e2a4c7
Revises: e5a7c9d1f3b6
Create Date: 2026-12-04 12:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "f6b8d0e2a4c7"
down_revision: str | None = "e5a7c9d1f3b6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply the change."""
    with op.batch_alter_table("access_log", schema=None) as batch_op:
        batch_op.add_column(sa.Column("id_hash", sa.String(length=64), nullable=True))


def downgrade() -> None:
    """Undo the change."""
    with op.batch_alter_table("access_log", schema=None) as batch_op:
        batch_op.drop_column("id_hash")
