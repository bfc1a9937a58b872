"""Indexes for Att göra: open deadlines by due time, a user's booked meetings, an organisation's efforts

Revision ID: a1b3c5d7e9f0
Revises: b8d0e2f4a6c8
Create Date: 2026-12-02 17:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a1b3c5d7e9f0"
down_revision: str | None = "b8d0e2f4a6c8"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN = "met_at IS NULL AND cancelled_at IS NULL"
INDEXES = (
    ("ix_meeting_booked_by_user_id_starts_at", "meeting", ["booked_by_user_id", "starts_at"]),
    ("ix_planeffort_organisation_id_ends_on", "planeffort", ["organisation_id", "ends_on"]),
)


def upgrade() -> None:
    """Apply the change."""
    op.create_index(
        "ix_deadline_open_due_at",
        "deadline",
        ["due_at", "id", "case_id", "kind"],
        sqlite_where=sa.text(OPEN),
        postgresql_where=sa.text(OPEN),
    )
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    """Undo the change."""
    for name, table, _columns in INDEXES:
        op.drop_index(name, table_name=table)
    op.drop_index("ix_deadline_open_due_at", table_name="deadline")
