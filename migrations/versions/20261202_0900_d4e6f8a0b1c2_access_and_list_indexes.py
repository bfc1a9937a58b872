"""Composite indexes for the access rule and Mina SIP

Revision ID: d4e6f8a0b1c2
Revises: c3d5e7f90a12
Create Date: 2026-12-02 09:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "d4e6f8a0b1c2"
down_revision: str | None = "c3d5e7f90a12"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = (
    ("ix_participant_case_id_organisation_id", "participant", ["case_id", "organisation_id"]),
    ("ix_consentorganisation_organisation_id_consent_id", "consentorganisation", ["organisation_id", "consent_id"]),
    ("ix_sipcase_updated_at_id", "sipcase", ["updated_at", "id"]),
)


def upgrade() -> None:
    """Apply the change."""
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    """Undo the change."""
    for name, table, _columns in INDEXES:
        op.drop_index(name, table_name=table)
