"""access_log: the personal link a read without a user went through (hashed when present)

Revision ID: b2d4f6a8c0e3
Revises: a1c3e5f7b9d2
Create Date: 2026-12-04 05:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from alembic.util import CommandError

revision: str = "b2d4f6a8c0e3"
down_revision: str | None = "a1c3e5f7b9d2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply the change."""
    with op.batch_alter_table("access_log", schema=None) as batch_op:
        batch_op.add_column(sa.Column("link_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    """Undo the change, unless a row records link_id: it is hashed with its row, so the chain would break."""
    refuse_when_recorded("link_id", "the link a read without a user went through")
    with op.batch_alter_table("access_log", schema=None) as batch_op:
        batch_op.drop_column("link_id")


def refuse_when_recorded(column: str, what: str) -> None:
    """Refuse going back while an access-log row holds column: without it no such row matches its hash.

    `access-log verify` would then report each as changed, in the earlier release and, the value gone, in
    this one again after the next upgrade. The backup taken before the upgrade is the way back.
    """
    recorded = op.get_bind().execute(sa.text(f"SELECT count(*) FROM access_log WHERE {column} IS NOT NULL")).scalar()
    if recorded:
        raise CommandError(
            f"cannot go back before revision {revision}: access log entries record {what} ({column}), "
            f"{recorded} of them, and their hashes cover it; without it the access log's chain no longer verifies. "
            "Restore the backup taken before the upgrade instead (README, Going back)."
        )
