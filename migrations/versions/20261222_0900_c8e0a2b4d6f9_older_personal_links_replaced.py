"""personallink: the links a release before e5a7c9d1f3b6 sent again to one recipient end as replaced

Since e5a7c9d1f3b6 a personal link sent to a participant of a SIP ends the links to them of that SIP that
still work (plans.personal_links._replace_older_links), and the links page says so ("upphör när ... en ny
länk skickas till mottagaren"). The links an earlier release sent again to the same recipient were never
ended: after the upgrade the page listed two or three working links to one person, and each old mail kept
opening the plan until it expired. This revision ends them as the send would have: each link still working
when the next link to the same recipient of the same SIP was sent is revoked at that send and names it as
its successor (replaced_by_id). A data change only: its downgrade leaves them ended (the earlier code reads
them as revoked).

Revision ID: c8e0a2b4d6f9
Revises: b9d1f3a5c7e8
Create Date: 2026-12-22 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c8e0a2b4d6f9"
down_revision: str | None = "b9d1f3a5c7e8"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LINK = sa.table(
    "personallink",
    sa.column("id", sa.Integer),
    sa.column("case_id", sa.Integer),
    sa.column("participant_id", sa.Integer),
    sa.column("created_at", sa.DateTime(timezone=True)),
    sa.column("expires_at", sa.DateTime(timezone=True)),
    sa.column("revoked_at", sa.DateTime(timezone=True)),
    sa.column("replaced_by_id", sa.Integer),
)


def upgrade() -> None:
    """Apply the change."""
    newer = LINK.alias("newer")
    successor = (
        sa.select(sa.func.min(newer.c.id))
        .where(
            newer.c.case_id == LINK.c.case_id,
            newer.c.participant_id == LINK.c.participant_id,
            newer.c.id > LINK.c.id,
        )
        .correlate(LINK)  # the row updated, also inside the successor's send below
        .scalar_subquery()
    )
    sent = LINK.alias("sent")
    # The successor's send: a link expired by then was not ended by it (_replace_older_links).
    sent_at = sa.select(sent.c.created_at).where(sent.c.id == successor).scalar_subquery()
    op.execute(
        LINK.update()
        .where(LINK.c.revoked_at.is_(None), successor.is_not(None), LINK.c.expires_at > sent_at)
        .values(replaced_by_id=successor)
    )
    op.execute(
        LINK.update()
        .where(LINK.c.revoked_at.is_(None), LINK.c.replaced_by_id.is_not(None))
        .values(
            revoked_at=sa.select(sent.c.created_at)
            .where(sent.c.id == LINK.c.replaced_by_id)
            .scalar_subquery()
        )
    )


def downgrade() -> None:
    """Undo the change: nothing, the links stay ended."""
