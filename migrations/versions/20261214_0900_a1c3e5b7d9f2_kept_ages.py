"""sipcase.age_at_request, deadline.age_on_due_day: the ages the statistics count, kept at anonymisation

Retention cuts an anonymised person's birth date to the first of January of its year, and the statistics
counted a SIP offered (and a follow-up due) in the age band of the person's age on that day from the birth
date: a SIP of a person born in December, requested in June at 17, moved to 18-24 once the person was
anonymised, and a year's figures already published (reachable with compared years) changed. Anonymisation
now writes each age from the whole birth date before cutting it (retention.anonymise._keep_ages); both
columns stay NULL until then. Persons anonymised before this revision are left NULL: their whole birth
dates are gone. The covering index the offered SIPs are read from gets the case's column before its id,
so the grouping by age band still reads the index alone. Plain ADD COLUMN and a new index, no table rebuilt
(a rebuilt SQLite table loses its statistics).

Revision ID: a1c3e5b7d9f2
Revises: f7a9b1c3d5e8
Create Date: 2026-12-14 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a1c3e5b7d9f2"
down_revision: str | None = "f7a9b1c3d5e8"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COVER = "ix_sipcase_requested_at_cover"
COVER_BEFORE = ["requested_at", "municipality_code", "person_id", "occasion", "id"]
COVER_AFTER = ["requested_at", "municipality_code", "person_id", "occasion", "age_at_request", "id"]


def upgrade() -> None:
    """Apply the change."""
    op.add_column("sipcase", sa.Column("age_at_request", sa.Integer(), nullable=True))
    op.add_column("deadline", sa.Column("age_on_due_day", sa.Integer(), nullable=True))
    op.drop_index(COVER, table_name="sipcase")
    op.create_index(COVER, "sipcase", COVER_AFTER, unique=False)


def downgrade() -> None:
    """Undo the change."""
    op.drop_index(COVER, table_name="sipcase")
    op.create_index(COVER, "sipcase", COVER_BEFORE, unique=False)
    with op.batch_alter_table("deadline", schema=None) as batch_op:
        batch_op.drop_column("age_on_due_day")
    with op.batch_alter_table("sipcase", schema=None) as batch_op:
        batch_op.drop_column("age_at_request")
