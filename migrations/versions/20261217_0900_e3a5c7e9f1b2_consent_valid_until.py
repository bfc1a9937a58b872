"""ix_consent_valid_until: the nightly consent's-end job reads the week's ends from an index

The job that moves the reminders ahead of the consent's end once an organisation's consent has run out
(reminders.services.reconcile_after_consent_ended) asks for the consents whose last day fell in the past
week. Without an index on the last day it read every consent, a million and more at a million cases, each
night. A new index, no table rebuilt.

Revision ID: e3a5c7e9f1b2
Revises: d7f9b1c3e5a8
Create Date: 2026-12-17 09:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "e3a5c7e9f1b2"
down_revision: str | None = "d7f9b1c3e5a8"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply the change."""
    op.create_index("ix_consent_valid_until", "consent", ["valid_until"], unique=False)


def downgrade() -> None:
    """Undo the change."""
    op.drop_index("ix_consent_valid_until", table_name="consent")
