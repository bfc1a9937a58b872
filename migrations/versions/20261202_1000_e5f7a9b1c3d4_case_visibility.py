"""case_visibility: each organisation's candidates for Mina SIP, back-filled from the cases and participants

Revision ID: e5f7a9b1c3d4
Revises: d4e6f8a0b1c2
Create Date: 2026-12-02 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "e5f7a9b1c3d4"
down_revision: str | None = "d4e6f8a0b1c2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The initiating organisation and every organisation taking part, once each, with the case's time.
BACKFILL = """
INSERT INTO case_visibility (organisation_id, case_id, updated_at)
SELECT sipcase.initiating_organisation_id, sipcase.id, sipcase.updated_at FROM sipcase
UNION
SELECT participant.organisation_id, sipcase.id, sipcase.updated_at
FROM participant JOIN sipcase ON sipcase.id = participant.case_id
WHERE participant.organisation_id IS NOT NULL AND participant.removed_at IS NULL
"""


def upgrade() -> None:
    """Apply the change."""
    op.create_table(
        "case_visibility",
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_case_visibility_organisation_id_organisation"),
        ),
        sa.ForeignKeyConstraint(["case_id"], ["sipcase.id"], name=op.f("fk_case_visibility_case_id_sipcase")),
        sa.PrimaryKeyConstraint("organisation_id", "case_id", name=op.f("pk_case_visibility")),
    )
    op.create_index(
        "ix_case_visibility_organisation_id_updated_at_case_id",
        "case_visibility",
        ["organisation_id", "updated_at", "case_id"],
    )
    op.create_index("ix_case_visibility_case_id", "case_visibility", ["case_id"])
    op.execute(BACKFILL)
    # A new table has no planner statistics, and SQLite's PRAGMA optimize (after `db upgrade`) only
    # refreshes existing ones: without them the planner may not pick the keyset index.
    op.execute("ANALYZE case_visibility")


def downgrade() -> None:
    """Revert the change."""
    op.drop_index("ix_case_visibility_case_id", table_name="case_visibility")
    op.drop_index("ix_case_visibility_organisation_id_updated_at_case_id", table_name="case_visibility")
    op.drop_table("case_visibility")
