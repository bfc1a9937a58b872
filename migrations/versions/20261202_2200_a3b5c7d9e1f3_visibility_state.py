"""case_visibility.state: the case's state beside each Mina SIP candidate, so the state filter is an index range

Revision ID: a3b5c7d9e1f3
Revises: f2a4c6e8b0d2
Create Date: 2026-12-02 22:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a3b5c7d9e1f3"
down_revision: str | None = "f2a4c6e8b0d2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Every row takes its case's state (the primary key of sipcase finds it), in one statement.
BACKFILL = """
UPDATE case_visibility
SET state = (SELECT sipcase.state FROM sipcase WHERE sipcase.id = case_visibility.case_id)
"""


def upgrade() -> None:
    """Apply the change."""
    # Nullable while the rows are filled in (SQLite adds a NOT NULL column only with a default), then NOT NULL.
    op.add_column("case_visibility", sa.Column("state", sa.String(length=40), nullable=True))
    op.execute(BACKFILL)
    with op.batch_alter_table("case_visibility", schema=None) as batch_op:
        batch_op.alter_column("state", existing_type=sa.String(length=40), nullable=False)
    op.create_index(
        "ix_case_visibility_organisation_id_state_updated_at_case_id",
        "case_visibility",
        ["organisation_id", "state", "updated_at", "case_id"],
    )
    # Statistics for the new index, so the planner takes it for the filter.
    op.execute("ANALYZE case_visibility")


def downgrade() -> None:
    """Revert the change."""
    op.drop_index("ix_case_visibility_organisation_id_state_updated_at_case_id", table_name="case_visibility")
    with op.batch_alter_table("case_visibility", schema=None) as batch_op:
        batch_op.drop_column("state")
