"""planapproval: one approval per party and version

Two units of one organisation recording its approval at the same moment could both be saved: the unique row
was per participant. The party approving ("organisation:<id>", or "person" for the person and a guardian on
their behalf) is now kept, unique per version (approvals.party_key). Earlier rows get their party; a row
that came second for its party (such a race, before) keeps NULL, so nothing recorded is lost and the first
approval stays the party's, as the pages already show it.

Revision ID: e6f8a0b2c4d7
Revises: d5e7f9a1b3c6
Create Date: 2026-12-11 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "e6f8a0b2c4d7"
down_revision: str | None = "d5e7f9a1b3c6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BACKFILL = """
UPDATE planapproval SET party = (
    SELECT CASE WHEN participant.kind = 'organisation'
                THEN 'organisation:' || CAST(participant.organisation_id AS VARCHAR)
                ELSE 'person' END
    FROM participant WHERE participant.id = planapproval.participant_id
)
"""
# The party's first approval keeps the key (the order the pages read them in: approved_at, then id).
SECOND_OF_PARTY = """
UPDATE planapproval SET party = NULL
WHERE EXISTS (
    SELECT 1 FROM planapproval AS earlier
    WHERE earlier.version_id = planapproval.version_id AND earlier.party = planapproval.party
      AND (earlier.approved_at < planapproval.approved_at
           OR (earlier.approved_at = planapproval.approved_at AND earlier.id < planapproval.id))
)
"""


def upgrade() -> None:
    """Apply the change."""
    with op.batch_alter_table("planapproval", schema=None) as batch_op:
        batch_op.add_column(sa.Column("party", sa.String(length=32), nullable=True))
    op.execute(BACKFILL)
    op.execute(SECOND_OF_PARTY)
    with op.batch_alter_table("planapproval", schema=None) as batch_op:
        batch_op.create_unique_constraint("uq_planapproval_party", ["version_id", "party"])


def downgrade() -> None:
    """Undo the change."""
    with op.batch_alter_table("planapproval", schema=None) as batch_op:
        batch_op.drop_constraint("uq_planapproval_party", type_="unique")
        batch_op.drop_column("party")
