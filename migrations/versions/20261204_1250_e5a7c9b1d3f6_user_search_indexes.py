"""ix_user_display_name_lower, ix_user_username_lower: the administration's user search by prefix

The users page finds a user by the start of their name, username or e-mail address, whatever its case
(`admin.queries.user_search_clause`); lower(email) had its index, the other two read every user. On
PostgreSQL the three are built with text_pattern_ops, the operator class a LIKE 'prefix%' reads whatever the
database's collation (equality, which the mail recipients' look-up asks of lower(email), reads it too).

Revision ID: e5a7c9b1d3f6
Revises: f6b8d0e2a4c7
Create Date: 2026-12-04 12:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "e5a7c9b1d3f6"
down_revision: str | None = "f6b8d0e2a4c7"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _lowered(column: str) -> sa.TextClause:
    """lower(column), with PostgreSQL's pattern operator class."""
    postgresql = op.get_bind().dialect.name == "postgresql"
    return sa.text(f"lower({column}){' text_pattern_ops' if postgresql else ''}")


def upgrade() -> None:
    """Apply the change."""
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_user_email_lower", table_name="user")
        op.create_index("ix_user_email_lower", "user", [_lowered("email")], unique=False)
    op.create_index("ix_user_display_name_lower", "user", [_lowered("display_name")], unique=False)
    op.create_index("ix_user_username_lower", "user", [_lowered("username")], unique=False)


def downgrade() -> None:
    """Undo the change."""
    op.drop_index("ix_user_username_lower", table_name="user")
    op.drop_index("ix_user_display_name_lower", table_name="user")
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_user_email_lower", table_name="user")
        op.create_index("ix_user_email_lower", "user", [sa.text("lower(email)")], unique=False)
