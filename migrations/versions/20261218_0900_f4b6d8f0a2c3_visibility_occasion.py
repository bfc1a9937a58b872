"""case_visibility.occasion: the kind of SIP beside each Mina SIP candidate, so the filter by kind is a range

Mina SIP could be narrowed by state, deadline and person, not by kind of SIP (a discharge SIP with its days
counted in hours, a child's SIP): a coordinator of discharges had to page through every SIP. Checked on the
walk alone, a filter for a rare kind would read the organisation's every candidate to fill a page; with
the case's occasion on its candidates (it never changes: a workflow's versions share it) the filter is a
range of a new index, as the state's is. Every row takes its case's occasion in one statement. On the
bench's million (2.5 M candidate rows) it ran 95 s on SQLite and 200 s on PostgreSQL, on a busy machine
(load average 7-10): the service is stopped for an upgrade in any case (README, Upgrading).

Revision ID: f4b6d8f0a2c3
Revises: e3a5c7e9f1b2
Create Date: 2026-12-18 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "f4b6d8f0a2c3"
down_revision: str | None = "e3a5c7e9f1b2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_case_visibility_organisation_id_occasion_updated_at_case_id"
# Every row takes its case's occasion (the primary key of sipcase finds it), in one statement.
BACKFILL = """
UPDATE case_visibility
SET occasion = (SELECT sipcase.occasion FROM sipcase WHERE sipcase.id = case_visibility.case_id)
"""


def upgrade() -> None:
    """Apply the change."""
    # Nullable while the rows are filled in (SQLite adds a NOT NULL column only with a default), then NOT NULL.
    op.add_column("case_visibility", sa.Column("occasion", sa.String(length=40), nullable=True))
    op.execute(BACKFILL)
    with op.batch_alter_table("case_visibility", schema=None) as batch_op:
        batch_op.alter_column("occasion", existing_type=sa.String(length=40), nullable=False)
    op.create_index(INDEX, "case_visibility", ["organisation_id", "occasion", "updated_at", "case_id"])
    # Statistics for the rebuilt table and its new index, so the planner takes it for the filter.
    op.execute("ANALYZE case_visibility")


def downgrade() -> None:
    """Undo the change."""
    op.drop_index(INDEX, table_name="case_visibility")
    with op.batch_alter_table("case_visibility", schema=None) as batch_op:
        batch_op.drop_column("occasion")
