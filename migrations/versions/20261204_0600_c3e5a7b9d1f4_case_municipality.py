"""sipcase.municipality_code: the person's folkbokföringskommun when the SIP was requested

The statistics counted a SIP offered (accepted, declined) and its follow-ups due under the person's
current municipality, so a move changed quarters already published; code records already keep the
municipality of the meeting day. Back-filled from the person's current municipality (the best there is
for the cases before). The covering index the offered SIPs are read from gets the column after the
request date, so the area filter and the grouping still read the index alone.

Revision ID: c3e5a7b9d1f4
Revises: b2d4f6a8c0e3
Create Date: 2026-12-04 06:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c3e5a7b9d1f4"
down_revision: str | None = "b2d4f6a8c0e3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BACKFILL = """
UPDATE sipcase
SET municipality_code = (SELECT person.home_municipality_code FROM person WHERE person.id = sipcase.person_id)
"""


def upgrade() -> None:
    """Apply the change."""
    op.add_column("sipcase", sa.Column("municipality_code", sa.String(length=4), nullable=True))
    # Nullable while the rows are filled in (SQLite adds a NOT NULL column only with a default), then NOT NULL.
    op.execute(BACKFILL)
    with op.batch_alter_table("sipcase", schema=None) as batch_op:
        batch_op.alter_column("municipality_code", existing_type=sa.String(length=4), nullable=False)
        batch_op.create_foreign_key(
            "fk_sipcase_municipality_code_municipality", "municipality", ["municipality_code"], ["code"]
        )
        batch_op.drop_index("ix_sipcase_requested_at_cover")
        batch_op.create_index(
            "ix_sipcase_requested_at_cover",
            ["requested_at", "municipality_code", "person_id", "occasion", "id"],
            unique=False,
        )


def downgrade() -> None:
    """Undo the change."""
    with op.batch_alter_table("sipcase", schema=None) as batch_op:
        batch_op.drop_index("ix_sipcase_requested_at_cover")
        batch_op.create_index(
            "ix_sipcase_requested_at_cover", ["requested_at", "person_id", "occasion", "id"], unique=False
        )
        batch_op.drop_constraint("fk_sipcase_municipality_code_municipality", type_="foreignkey")
        batch_op.drop_column("municipality_code")
