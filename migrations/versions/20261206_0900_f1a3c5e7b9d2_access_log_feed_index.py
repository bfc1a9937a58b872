"""ix_access_log_feed_user_id_at: a calendar feed finds its user's feed rows of the day by index

A staff member's calendar feed is logged once per case and Swedish day (`audit.record_feed`, action
`meeting.feed`); each fetch asks which of its cases have today's row. Only the feed's rows are in the index
(partial), so no other append pays for it.

Revision ID: f1a3c5e7b9d2
Revises: e6a8c0d2f4b3
Create Date: 2026-12-06 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "f1a3c5e7b9d2"
down_revision: str | None = "e6a8c0d2f4b3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FEED_ROWS = "action = 'meeting.feed'"


def upgrade() -> None:
    """Apply the change."""
    op.create_index(
        "ix_access_log_feed_user_id_at",
        "access_log",
        ["user_id", "at"],
        unique=False,
        sqlite_where=sa.text(FEED_ROWS),
        postgresql_where=sa.text(FEED_ROWS),
    )


def downgrade() -> None:
    """Undo the change."""
    op.drop_index("ix_access_log_feed_user_id_at", table_name="access_log")
