"""ix_user_email_lower: users looked up by their e-mail address, whatever its case

A mail gives the case page's address only to recipients who are staff seeing the SIP
(`security.access.addresses_seeing_case`, at every booking, change and reminder), and the directory import
and the user form check an address is not taken: each compares lower(email), which no index covered, so
each read every user.

Revision ID: d4f6a8b0c2e5
Revises: c3e5a7b9d1f4
Create Date: 2026-12-04 08:15:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "d4f6a8b0c2e5"
down_revision: str | None = "c3e5a7b9d1f4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply the change."""
    op.create_index("ix_user_email_lower", "user", [sa.text("lower(email)")], unique=False)


def downgrade() -> None:
    """Undo the change."""
    op.drop_index("ix_user_email_lower", table_name="user")
