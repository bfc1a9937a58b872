"""participant: who named a unit's contact person, and when

Naming a unit's contact person twice from one page (a double click on "Bli kontaktperson", a resend) was
refused the second time as "someone else changed this SIP": who named it, and when, now tells the sender's
own choice of a moment ago from someone else's (cases.services.own_contact_person_just_named). Contact
persons named before are unattributed (NULL).

Revision ID: d5e7f9a1b3c6
Revises: c4d6e8f0a2b5
Create Date: 2026-12-11 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "d5e7f9a1b3c6"
down_revision: str | None = "c4d6e8f0a2b5"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply the change."""
    with op.batch_alter_table("participant", schema=None) as batch_op:
        batch_op.add_column(sa.Column("contact_named_by_user_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("contact_named_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_participant_contact_named_by_user_id_user"),
            "user",
            ["contact_named_by_user_id"],
            ["id"],
        )


def downgrade() -> None:
    """Undo the change."""
    with op.batch_alter_table("participant", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_participant_contact_named_by_user_id_user"), type_="foreignkey")
        batch_op.drop_column("contact_named_at")
        batch_op.drop_column("contact_named_by_user_id")
