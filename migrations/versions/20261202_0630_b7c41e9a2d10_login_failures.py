"""login failures

Revision ID: b7c41e9a2d10
Revises: 9ff80d626920
Create Date: 2026-12-02 06:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b7c41e9a2d10"
down_revision: str | None = "9ff80d626920"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply the change."""
    op.create_table(
        "login_failure",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(length=12), nullable=False),
        sa.Column("username_key", sa.String(length=64), nullable=False),
        sa.Column("address_key", sa.String(length=64), nullable=False),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("forgiven", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_failure")),
    )
    with op.batch_alter_table("login_failure", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_login_failure_failed_at"), ["failed_at"], unique=False)
        batch_op.create_index(
            "ix_login_failure_username", ["scope", "username_key", "failed_at"], unique=False
        )
        batch_op.create_index("ix_login_failure_address", ["scope", "address_key", "failed_at"], unique=False)


def downgrade() -> None:
    """Revert the change."""
    with op.batch_alter_table("login_failure", schema=None) as batch_op:
        batch_op.drop_index("ix_login_failure_address")
        batch_op.drop_index("ix_login_failure_username")
        batch_op.drop_index(batch_op.f("ix_login_failure_failed_at"))
    op.drop_table("login_failure")
