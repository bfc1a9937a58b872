"""directory_version: a token every change of the directory replaces

The unit pickers (the case page's "Lägg till enhet", Ny SIP) read every active unit with its organisation,
municipality and county on each view: about a tenth of the case page's time on SQLite. Each process keeps
those rows under the token it read them with (`cases.queries.active_unit_rows`), and asks only the token
again. Triggers in the database replace the token whenever a unit, organisation, municipality or county is
written, whoever writes it (the administration, the import, a migration, an SQL prompt), in the writing
transaction: a process never keeps rows older than what it can read. A random token rather than a counter:
a database put back to an earlier copy (a restore, the tests' resets) brings back its token with its rows,
never a number some other state of the directory had.

Revision ID: f7a9b1c3d5e8
Revises: e6f8a0b2c4d7
Create Date: 2026-12-13 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "f7a9b1c3d5e8"
down_revision: str | None = "e6f8a0b2c4d7"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DIRECTORY_TABLES = ("unit", "organisation", "municipality", "county")
SQLITE_TOKEN = "lower(hex(randomblob(16)))"
POSTGRESQL_TOKEN = "md5(random()::text || clock_timestamp()::text)"


def upgrade() -> None:
    """Apply the change."""
    op.create_table(
        "directory_version",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("token", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"INSERT INTO directory_version (id, token) VALUES (1, {POSTGRESQL_TOKEN})")
        op.execute(
            "CREATE FUNCTION sipflow_directory_changed() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"UPDATE directory_version SET token = {POSTGRESQL_TOKEN} WHERE id = 1; RETURN NULL; END $$"
        )
        for table in DIRECTORY_TABLES:
            op.execute(
                f"CREATE TRIGGER directory_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION sipflow_directory_changed()"
            )
        return
    op.execute(f"INSERT INTO directory_version (id, token) VALUES (1, {SQLITE_TOKEN})")
    for table in DIRECTORY_TABLES:
        for event in ("INSERT", "UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER directory_changed_{table}_{event.lower()} AFTER {event} ON {table} BEGIN "
                f"UPDATE directory_version SET token = {SQLITE_TOKEN} WHERE id = 1; END"
            )


def downgrade() -> None:
    """Undo the change."""
    if op.get_bind().dialect.name == "postgresql":
        for table in DIRECTORY_TABLES:
            op.execute(f"DROP TRIGGER directory_changed ON {table}")
        op.execute("DROP FUNCTION sipflow_directory_changed()")
    else:
        for table in DIRECTORY_TABLES:
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER directory_changed_{table}_{event}")
    op.drop_table("directory_version")
