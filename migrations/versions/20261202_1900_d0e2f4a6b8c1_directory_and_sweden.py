"""Directory: every county and municipality of Sweden; organisation and unit active, unit kind, mailbox, HSA-id

Revision ID: d0e2f4a6b8c1
Revises: d0e2f4a6b8c0
Create Date: 2026-12-02 19:00:00

The reference data comes from sipflow/data/municipalities-sweden.csv (SCB codes, 21 counties, 290
municipalities). Only missing counties and municipalities are inserted, so a database that already holds
some (the three counties of the seeds) keeps them as they are. A municipality's later change (a new name,
a merger) is a migration of its own that updates the rows and edits the CSV the same way.
"""

import csv
from collections.abc import Sequence
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision: str = "d0e2f4a6b8c1"
down_revision: str | None = "d0e2f4a6b8c0"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CSV_PATH = Path(__file__).resolve().parents[2] / "sipflow" / "data" / "municipalities-sweden.csv"


def _reference_rows() -> tuple[list[dict], list[dict]]:
    """The counties and municipalities of the CSV, each once."""
    counties: dict[str, dict] = {}
    municipalities: dict[str, dict] = {}
    with CSV_PATH.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            county_code = row["county_code"].strip()
            counties.setdefault(
                county_code,
                {"code": county_code, "name": row["county"].strip(), "region_name": row["region"].strip()},
            )
            code = row["municipality_code"].strip()
            municipalities[code] = {
                "code": code,
                "name": row["municipality"].strip(),
                "county_code": county_code,
            }
    return list(counties.values()), list(municipalities.values())


def _load_reference_data() -> None:
    connection = op.get_bind()
    county = sa.table("county", sa.column("code"), sa.column("name"), sa.column("region_name"))
    municipality = sa.table("municipality", sa.column("code"), sa.column("name"), sa.column("county_code"))
    counties, municipalities = _reference_rows()
    have_counties = set(connection.execute(sa.select(county.c.code)).scalars())
    have_municipalities = set(connection.execute(sa.select(municipality.c.code)).scalars())
    missing_counties = [c for c in counties if c["code"] not in have_counties]
    missing_municipalities = [m for m in municipalities if m["code"] not in have_municipalities]
    if missing_counties:
        op.bulk_insert(county, missing_counties)
    if missing_municipalities:
        op.bulk_insert(municipality, missing_municipalities)


def upgrade() -> None:
    """Apply the change."""
    _load_reference_data()
    with op.batch_alter_table("organisation", schema=None) as batch_op:
        batch_op.add_column(sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False))
        batch_op.create_index("ix_organisation_name_id", ["name", "id"], unique=False)
    with op.batch_alter_table("unit", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(length=20), server_default="other", nullable=False))
        batch_op.add_column(sa.Column("email", sa.String(length=254), nullable=True))
        batch_op.add_column(sa.Column("hsa_id", sa.String(length=31), nullable=True))
        batch_op.add_column(sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False))
        batch_op.create_index("ix_unit_name_id", ["name", "id"], unique=False)
        batch_op.create_unique_constraint(batch_op.f("uq_unit_hsa_id"), ["hsa_id"])
    with op.batch_alter_table("sipcase", schema=None) as batch_op:
        batch_op.create_index(
            "ix_sipcase_workflow_name_version", ["workflow_name", "workflow_version"], unique=False
        )


def downgrade() -> None:
    """Undo the change; the reference rows stay (persons and organisations may refer to them)."""
    with op.batch_alter_table("sipcase", schema=None) as batch_op:
        batch_op.drop_index("ix_sipcase_workflow_name_version")
    with op.batch_alter_table("unit", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_unit_hsa_id"), type_="unique")
        batch_op.drop_index("ix_unit_name_id")
        batch_op.drop_column("active")
        batch_op.drop_column("hsa_id")
        batch_op.drop_column("email")
        batch_op.drop_column("kind")
    with op.batch_alter_table("organisation", schema=None) as batch_op:
        batch_op.drop_index("ix_organisation_name_id")
        batch_op.drop_column("active")
