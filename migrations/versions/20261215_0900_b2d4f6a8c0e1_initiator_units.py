"""participant.role: every unit of the starting organisation is initiator

The start gave the initiator role to the starter's unit alone, so a second unit of the same organisation
(a municipality's boendestöd beside its socialtjänst) read "deltagare" on the case page until a hand-over of
huvudansvar made it "initiativtagare". The role is now the organisation's (cases.services.role_of_unit): each
active or removed unit row of the initiating organisation that neither holds huvudansvar nor is the
person's takes the initiator role. The party rules already read it per organisation (party_roles), so no
right changes; downgrading keeps the rows as they are, which the earlier code reads the same way.

Revision ID: b2d4f6a8c0e1
Revises: a1c3e5b7d9f2
Create Date: 2026-12-15 09:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "b2d4f6a8c0e1"
down_revision: str | None = "a1c3e5b7d9f2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BACKFILL = """
UPDATE participant SET role = 'initiator'
WHERE kind = 'organisation' AND role = 'participant'
  AND organisation_id = (
      SELECT sipcase.initiating_organisation_id FROM sipcase WHERE sipcase.id = participant.case_id
  )
"""


def upgrade() -> None:
    """Apply the change."""
    op.execute(BACKFILL)


def downgrade() -> None:
    """Undo the change: nothing to undo, the earlier code reads an initiator row of the organisation as before."""
