"""password_link.outbox_id, personallink.outbox_id: the e-mail that carried each link

An invitation or a reset link whose e-mail the relay refused for good (a mistyped address) was told only
in the log: the administrator believed the user invited; a personal link's likewise, the staff believing
the person had their plan. Each link now names its outbox row, so the user's page and the users list
(admin.users.undelivered_links) and the case's links page (plans.personal_links.case_links) say when its
mail could not be delivered. Links made before this revision name none (NULL) and are told nothing.

Revision ID: d7f9b1c3e5a8
Revises: b2d4f6a8c0e1
Create Date: 2026-12-16 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "d7f9b1c3e5a8"
down_revision: str | None = "b2d4f6a8c0e1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


TABLES = ("password_link", "personallink")


def upgrade() -> None:
    """Apply the change."""
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("outbox_id", sa.Integer(), nullable=True))
            batch_op.create_foreign_key(
                batch_op.f(f"fk_{table}_outbox_id_outboxmessage"), "outboxmessage", ["outbox_id"], ["id"]
            )


def downgrade() -> None:
    """Undo the change."""
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(batch_op.f(f"fk_{table}_outbox_id_outboxmessage"), type_="foreignkey")
            batch_op.drop_column("outbox_id")
