"""consent.valid_until: a guardian's consent ends the day before the person's 18th birthday

Custody ends at 18, and with it the guardians' right to consent for the person. sipflow recorded a
guardian's consent with the end typed, or none (until withdrawn), so a child's SIP went on after the
birthday on the guardians' consent: the organisations kept reading it and the young adult was never asked.
From this release a guardian's consent ends at the latest the day before the 18th birthday
(consent.services.guardians_last_day); this revision gives the guardians' consents already recorded the
same end, where they have none or a later one, for a person whose birth date is known. The day typed after it
is not kept: a guardian's consent could never count for the adult. A data change only: its downgrade
leaves the ends as they are. Run `sipflow reminders reconcile` after it, so the reminders ahead of a
consent's end follow.

Revision ID: c5e7a9b1d3f4
Revises: a7c9e1b3d5f7
Create Date: 2026-12-20 09:00:00
"""

from collections.abc import Sequence
from datetime import date, timedelta

import sqlalchemy as sa
from alembic import op

revision: str = "c5e7a9b1d3f4"
down_revision: str | None = "a7c9e1b3d5f7"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CONSENT = sa.table(
    "consent",
    sa.column("id", sa.Integer),
    sa.column("case_id", sa.Integer),
    sa.column("decision", sa.String),
    sa.column("given_by", sa.String),
    sa.column("valid_until", sa.Date),
)
CASE = sa.table("sipcase", sa.column("id", sa.Integer), sa.column("person_id", sa.Integer))
PERSON = sa.table("person", sa.column("id", sa.Integer), sa.column("birth_date", sa.Date))


def _last_day_as_minor(born: date) -> date:
    """The day before the 18th birthday (people.identifiers.last_day_as_minor, as of this revision)."""
    try:
        birthday = born.replace(year=born.year + 18)
    except ValueError:  # born on 29 February: 1 March of a year without one
        birthday = date(born.year + 18, 3, 1)
    return birthday - timedelta(days=1)


def upgrade() -> None:
    """Apply the change."""
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(CONSENT.c.id, CONSENT.c.valid_until, PERSON.c.birth_date)
        .select_from(
            CONSENT.join(CASE, CASE.c.id == CONSENT.c.case_id).join(PERSON, PERSON.c.id == CASE.c.person_id)
        )
        .where(
            CONSENT.c.given_by == "guardian",
            CONSENT.c.decision == "given",
            PERSON.c.birth_date.is_not(None),
        )
    ).all()
    update = (
        CONSENT.update()
        .where(CONSENT.c.id == sa.bindparam("consent_id"))
        .values(valid_until=sa.bindparam("last"))
    )
    changes = []
    for consent_id, valid_until, born in rows:
        last = _last_day_as_minor(born)
        if valid_until is None or valid_until > last:
            changes.append({"consent_id": consent_id, "last": last})
    if changes:
        bind.execute(update, changes)


def downgrade() -> None:
    """Undo the change: nothing to undo in the schema; the ends written stay."""
