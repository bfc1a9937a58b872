"""access_log: the keyed hash of an identifier a look-up found nobody under (hashed when present)

Revision ID: f6b8d0e2a4c7
Revises: e5a7c9d1f3b6
Create Date: 2026-12-04 12:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from alembic.util import CommandError

revision: str = "f6b8d0e2a4c7"
down_revision: str | None = "e5a7c9d1f3b6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply the change."""
    with op.batch_alter_table("access_log", schema=None) as batch_op:
        batch_op.add_column(sa.Column("id_hash", sa.String(length=64), nullable=True))


def downgrade() -> None:
    """Undo the change, unless a row records id_hash: it is hashed with its row, so the chain would break."""
    refuse_when_recorded("id_hash", "the hash of an identifier a look-up found nobody under")
    with op.batch_alter_table("access_log", schema=None) as batch_op:
        batch_op.drop_column("id_hash")


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
