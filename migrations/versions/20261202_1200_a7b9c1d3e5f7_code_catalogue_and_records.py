"""The KVÅ code catalogue (XU045, AU124, ZV051 to start with), which code a unit records, code records

Revision ID: a7b9c1d3e5f7
Revises: f6a8b0c2d4e6
Create Date: 2026-12-02 12:00:00
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "a7b9c1d3e5f7"
down_revision: str | None = "f6a8b0c2d4e6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply the change."""
    op.create_table(
        "code_definition",
        sa.Column("code", sa.String(length=10), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_code_definition")),
    )
    op.create_table(
        "code_assignment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("organisation_kind", sa.String(length=16), nullable=True),
        sa.Column("code", sa.String(length=10), nullable=False),
        sa.ForeignKeyConstraint(
            ["code"], ["code_definition.code"], name=op.f("fk_code_assignment_code_code_definition")
        ),
        sa.ForeignKeyConstraint(["unit_id"], ["unit.id"], name=op.f("fk_code_assignment_unit_id_unit")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_code_assignment")),
        sa.UniqueConstraint("organisation_kind", name=op.f("uq_code_assignment_organisation_kind")),
        sa.UniqueConstraint("unit_id", name=op.f("uq_code_assignment_unit_id")),
    )
    op.create_table(
        "code_record",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=10), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("sign", sa.Integer(), nullable=False),
        sa.Column("reverses_id", sa.Integer(), nullable=True),
        sa.Column("held_on", sa.Date(), nullable=False),
        sa.Column("meeting_kind", sa.String(length=12), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("municipality_code", sa.String(length=4), nullable=False),
        sa.Column("legal_sex", sa.String(length=8), nullable=False),
        sa.Column("age_years", sa.Integer(), nullable=True),
        sa.Column("occasion", sa.String(length=40), nullable=False),
        sa.Column("organisation_kind", sa.String(length=16), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by_user_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["sipcase.id"], name=op.f("fk_code_record_case_id_sipcase")),
        sa.ForeignKeyConstraint(
            ["code"], ["code_definition.code"], name=op.f("fk_code_record_code_code_definition")
        ),
        sa.ForeignKeyConstraint(
            ["meeting_id"], ["meeting.id"], name=op.f("fk_code_record_meeting_id_meeting")
        ),
        sa.ForeignKeyConstraint(
            ["municipality_code"],
            ["municipality.code"],
            name=op.f("fk_code_record_municipality_code_municipality"),
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"], ["organisation.id"], name=op.f("fk_code_record_organisation_id_organisation")
        ),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"], name=op.f("fk_code_record_person_id_person")),
        sa.ForeignKeyConstraint(
            ["recorded_by_user_id"], ["user.id"], name=op.f("fk_code_record_recorded_by_user_id_user")
        ),
        sa.ForeignKeyConstraint(
            ["reverses_id"], ["code_record.id"], name=op.f("fk_code_record_reverses_id_code_record")
        ),
        sa.ForeignKeyConstraint(["unit_id"], ["unit.id"], name=op.f("fk_code_record_unit_id_unit")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_code_record")),
        sa.UniqueConstraint("reverses_id", name=op.f("uq_code_record_reverses_id")),
    )
    with op.batch_alter_table("code_record", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_code_record_case_id"), ["case_id"], unique=False)
        batch_op.create_index(
            "ix_code_record_held_on_municipality_code", ["held_on", "municipality_code"], unique=False
        )
        batch_op.create_index("ix_code_record_meeting_id", ["meeting_id"], unique=False)
    # The catalogue starts with the codes SIP.md §6 names; administrators add and retire codes as data.
    # Region and municipality units record different SIP codes by default (an administrator may change it).
    created = datetime(2026, 12, 2, tzinfo=UTC)
    definitions = sa.table(
        "code_definition",
        sa.column("code", sa.String),
        sa.column("label", sa.String),
        sa.column("kind", sa.String),
        sa.column("created_at", sa.DateTime(timezone=True)),
    )
    op.bulk_insert(
        definitions,
        [
            {"code": "XU045", "label": "SIP-möte (räknas som SIP)", "kind": "sip", "created_at": created},
            {"code": "AU124", "label": "SIP-möte (räknas som SIP)", "kind": "sip", "created_at": created},
            {"code": "ZV051", "label": "Vård på distans (video)", "kind": "distance", "created_at": created},
        ],
    )
    assignments = sa.table(
        "code_assignment", sa.column("organisation_kind", sa.String), sa.column("code", sa.String)
    )
    op.bulk_insert(
        assignments,
        [
            {"organisation_kind": "region", "code": "XU045"},
            {"organisation_kind": "municipality", "code": "AU124"},
        ],
    )


def downgrade() -> None:
    """Undo the change."""
    with op.batch_alter_table("code_record", schema=None) as batch_op:
        batch_op.drop_index("ix_code_record_meeting_id")
        batch_op.drop_index("ix_code_record_held_on_municipality_code")
        batch_op.drop_index(batch_op.f("ix_code_record_case_id"))

    op.drop_table("code_record")
    op.drop_table("code_assignment")
    op.drop_table("code_definition")
