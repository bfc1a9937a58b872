"""huvudansvartransfer.organisation_id: the organisation the user handed over huvudansvar for, then

The case page's timeline named a hand-over's user with their current organisation (their unit's now), so a
user who later moved to another organisation rewrote the history. A transition log row keeps its
organisation; a hand-over now does too. Back-filled from each user's current organisation (their unit's):
nothing recorded the one they had then, and it is what the timeline showed until now. A row whose user is
gone or has no unit stays NULL (the timeline names no organisation, as before).

Revision ID: e6a8c0d2f4b3
Revises: d4f6a8c0e2b1
Create Date: 2026-12-05 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "e6a8c0d2f4b3"
down_revision: str | None = "d4f6a8c0e2b1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BACKFILL = """
UPDATE huvudansvartransfer
SET organisation_id = (
    SELECT unit.organisation_id FROM "user" JOIN unit ON unit.id = "user".unit_id
    WHERE "user".id = huvudansvartransfer.user_id
)
WHERE user_id IS NOT NULL
"""


def upgrade() -> None:
    """Apply the change."""
    with op.batch_alter_table("huvudansvartransfer", schema=None) as batch_op:
        batch_op.add_column(sa.Column("organisation_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_huvudansvartransfer_organisation_id_organisation"),
            "organisation",
            ["organisation_id"],
            ["id"],
        )
    op.execute(BACKFILL)


def downgrade() -> None:
    """Undo the change."""
    with op.batch_alter_table("huvudansvartransfer", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_huvudansvartransfer_organisation_id_organisation"), type_="foreignkey"
        )
        batch_op.drop_column("organisation_id")
