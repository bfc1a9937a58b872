"""users: set-password links, coordinator scopes and the user's last login

Revision ID: d0e2f4a6b8c0
Revises: a1b3c5d7e9f0
Create Date: 2026-12-02 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "d0e2f4a6b8c0"
down_revision: str | None = "a1b3c5d7e9f0"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply the change."""
    op.create_table(
        "password_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=8), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by_user_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], name=op.f("fk_password_link_user_id_user")),
        sa.ForeignKeyConstraint(
            ["created_by_user_id"], ["user.id"], name=op.f("fk_password_link_created_by_user_id_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_password_link")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_password_link_token_hash")),
    )
    with op.batch_alter_table("password_link", schema=None) as batch_op:
        batch_op.create_index("ix_password_link_user", ["user_id", "used_at"], unique=False)
    op.create_table(
        "coordinator_scope",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("county_code", sa.String(length=2), nullable=True),
        sa.Column("municipality_code", sa.String(length=4), nullable=True),
        sa.ForeignKeyConstraint(
            ["county_code"], ["county.code"], name=op.f("fk_coordinator_scope_county_code_county")
        ),
        sa.ForeignKeyConstraint(
            ["municipality_code"],
            ["municipality.code"],
            name=op.f("fk_coordinator_scope_municipality_code_municipality"),
        ),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], name=op.f("fk_coordinator_scope_user_id_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coordinator_scope")),
    )
    with op.batch_alter_table("coordinator_scope", schema=None) as batch_op:
        batch_op.create_index("ix_coordinator_scope_user", ["user_id"], unique=False)
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    """Undo the change."""
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.drop_column("last_login_at")
    with op.batch_alter_table("coordinator_scope", schema=None) as batch_op:
        batch_op.drop_index("ix_coordinator_scope_user")
    op.drop_table("coordinator_scope")
    with op.batch_alter_table("password_link", schema=None) as batch_op:
        batch_op.drop_index("ix_password_link_user")
    op.drop_table("password_link")
