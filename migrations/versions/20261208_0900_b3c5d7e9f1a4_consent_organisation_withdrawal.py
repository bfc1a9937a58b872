"""consentorganisation.withdrawn_at, withdrawn_by_user_id, withdrawn_reason: consent withdrawn for one organisation

A person may withdraw their consent for one organisation and keep it for the others. The consent's row for
that organisation records when, by whom and why; the access rule no longer counts it as covering it.

Revision ID: b3c5d7e9f1a4
Revises: a2b4c6d8e0f3
Create Date: 2026-12-08 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from alembic.util import CommandError

revision: str = "b3c5d7e9f1a4"
down_revision: str | None = "a2b4c6d8e0f3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply the change."""
    with op.batch_alter_table("consentorganisation", schema=None) as batch_op:
        batch_op.add_column(sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("withdrawn_by_user_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("withdrawn_reason", sa.String(length=500), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_consentorganisation_withdrawn_by_user_id_user"), "user", ["withdrawn_by_user_id"], ["id"]
        )


def downgrade() -> None:
    """Undo the change, unless a consent was withdrawn for one organisation: refused, nothing changed.

    The earlier release counts every organisation a consent names as covered: such an organisation would see
    the SIP again, against the person's withdrawal. The backup taken before the upgrade is the way back.
    """
    withdrawn = op.get_bind().execute(
        sa.text("SELECT count(*) FROM consentorganisation WHERE withdrawn_at IS NOT NULL")
    ).scalar()
    if withdrawn:
        raise CommandError(
            f"cannot go back before revision {revision}: consent has been withdrawn for one organisation "
            f"({withdrawn} of them), which the earlier release would let see the SIP again. Restore the backup "
            "taken before the upgrade instead (README, Going back)."
        )
    with op.batch_alter_table("consentorganisation", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_consentorganisation_withdrawn_by_user_id_user"), type_="foreignkey")
        batch_op.drop_column("withdrawn_reason")
        batch_op.drop_column("withdrawn_by_user_id")
        batch_op.drop_column("withdrawn_at")
