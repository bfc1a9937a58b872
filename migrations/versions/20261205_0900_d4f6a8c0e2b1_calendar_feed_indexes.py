"""ix_participant_contact_user_id, ix_invitation_email_lower: a staff member's calendar feed by index

Min kalender holds the meetings a staff member is invited to as a unit's contact person or at their own
address, whatever its case (`meetings.feed`); neither was indexed, so each feed read every participant or
every invitation.

Revision ID: d4f6a8c0e2b1
Revises: c9e1a3b5d7f0
Create Date: 2026-12-05 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "d4f6a8c0e2b1"
down_revision: str | None = "c9e1a3b5d7f0"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply the change."""
    op.create_index("ix_participant_contact_user_id", "participant", ["contact_user_id"], unique=False)
    op.create_index("ix_invitation_email_lower", "invitation", [sa.text("lower(email)")], unique=False)


def downgrade() -> None:
    """Undo the change."""
    op.drop_index("ix_invitation_email_lower", table_name="invitation")
    op.drop_index("ix_participant_contact_user_id", table_name="participant")
