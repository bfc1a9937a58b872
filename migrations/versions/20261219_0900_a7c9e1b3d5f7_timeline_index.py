"""transitionlog (case_id, at, id): the case page's timeline read a page at a time, newest first

The case page listed a SIP's whole step log at once: a SIP followed up every quarter for years, its
corrections and revisions, logs hundreds of steps. The timeline is now a keyset page of the newest steps
(cases.queries.TIMELINE_PAGE_MAX), read backwards from this index and stopped after the page, with no sort.

Revision ID: a7c9e1b3d5f7
Revises: f4b6d8f0a2c3
Create Date: 2026-12-19 09:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "a7c9e1b3d5f7"
down_revision: str | None = "f4b6d8f0a2c3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_transitionlog_case_id_at_id"


def upgrade() -> None:
    """Apply the change."""
    op.create_index(INDEX, "transitionlog", ["case_id", "at", "id"])
    # Statistics for the new index, so the planner takes it for the page.
    op.execute("ANALYZE transitionlog")


def downgrade() -> None:
    """Undo the change."""
    op.drop_index(INDEX, table_name="transitionlog")
