"""Statistics at a million cases: covering indexes for the offered SIPs and their accepting steps

Measured on the synthetic million (SQLite, county 07, one year): the offered / accepted / declined query
fetched every case row by its request date and probed the transition log row by row for the trigger;
with these two indexes both are read from indexes alone and the case-outcomes group took 28 s instead of
62 s under the same load. Each replaces a one-column index the new one starts with, so no write pays more.

Revision ID: c5e7a9b1d3f5
Revises: a3b5c7d9e1f3
Create Date: 2026-12-02 23:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "c5e7a9b1d3f5"
down_revision: str | None = "a3b5c7d9e1f3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply the change."""
    with op.batch_alter_table("sipcase", schema=None) as batch_op:
        batch_op.create_index(
            "ix_sipcase_requested_at_cover", ["requested_at", "person_id", "occasion", "id"], unique=False
        )
        batch_op.drop_index("ix_sipcase_requested_at")
    with op.batch_alter_table("transitionlog", schema=None) as batch_op:
        batch_op.create_index("ix_transitionlog_case_id_trigger", ["case_id", "trigger"], unique=False)
        batch_op.drop_index("ix_transitionlog_case_id")


def downgrade() -> None:
    """Undo the change."""
    with op.batch_alter_table("transitionlog", schema=None) as batch_op:
        batch_op.create_index("ix_transitionlog_case_id", ["case_id"], unique=False)
        batch_op.drop_index("ix_transitionlog_case_id_trigger")
    with op.batch_alter_table("sipcase", schema=None) as batch_op:
        batch_op.create_index("ix_sipcase_requested_at", ["requested_at"], unique=False)
        batch_op.drop_index("ix_sipcase_requested_at_cover")
