"""The plan (draft, goals, efforts, contacts), its frozen versions and approvals, huvudansvar hand-overs,
personal links; the meeting outcome (decisions, classification, moved, närstående carer support).

Revision ID: f6a8b0c2d4e6
Revises: e5f7a9b1c3d4
Create Date: 2026-12-02 11:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "f6a8b0c2d4e6"
down_revision: str | None = "e5f7a9b1c3d4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply the change."""
    op.create_table(
        "huvudansvartransfer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("from_organisation_id", sa.Integer(), nullable=True),
        sa.Column("to_organisation_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=1000), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["sipcase.id"], name=op.f("fk_huvudansvartransfer_case_id_sipcase")
        ),
        sa.ForeignKeyConstraint(
            ["from_organisation_id"],
            ["organisation.id"],
            name=op.f("fk_huvudansvartransfer_from_organisation_id_organisation"),
        ),
        sa.ForeignKeyConstraint(
            ["to_organisation_id"],
            ["organisation.id"],
            name=op.f("fk_huvudansvartransfer_to_organisation_id_organisation"),
        ),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], name=op.f("fk_huvudansvartransfer_user_id_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_huvudansvartransfer")),
    )
    with op.batch_alter_table("huvudansvartransfer", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_huvudansvartransfer_case_id"), ["case_id"], unique=False)

    op.create_table(
        "plan",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("row_version", sa.Integer(), nullable=False),
        sa.Column("needs", sa.String(length=4000), nullable=True),
        sa.Column("no_other_measures", sa.Boolean(), nullable=False),
        sa.Column("huvudansvar_contact", sa.String(length=160), nullable=True),
        sa.Column("fast_vardkontakt", sa.String(length=160), nullable=True),
        sa.Column("fast_omsorgskontakt", sa.String(length=160), nullable=True),
        sa.Column("follow_up_on", sa.Date(), nullable=True),
        sa.Column("child_view_missing_reason", sa.String(length=1000), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_by_user_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["sipcase.id"], name=op.f("fk_plan_case_id_sipcase")),
        sa.ForeignKeyConstraint(
            ["updated_by_user_id"], ["user.id"], name=op.f("fk_plan_updated_by_user_id_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan")),
        sa.UniqueConstraint("case_id", name=op.f("uq_plan_case_id")),
    )
    op.create_table(
        "planversion",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("trigger", sa.String(length=40), nullable=False),
        sa.Column("established_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("established_by_user_id", sa.Integer(), nullable=True),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.Column("pdf", sa.LargeBinary(), nullable=False),
        sa.Column("pdf_sha256", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["sipcase.id"], name=op.f("fk_planversion_case_id_sipcase")),
        sa.ForeignKeyConstraint(
            ["established_by_user_id"], ["user.id"], name=op.f("fk_planversion_established_by_user_id_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_planversion")),
        sa.UniqueConstraint("case_id", "number", name=op.f("uq_planversion_case_id")),
    )
    with op.batch_alter_table("planversion", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_planversion_case_id"), ["case_id"], unique=False)

    op.create_table(
        "meetingdecision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.String(length=1000), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=True),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("participant_id", sa.Integer(), nullable=True),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["meeting_id"], ["meeting.id"], name=op.f("fk_meetingdecision_meeting_id_meeting")
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_meetingdecision_organisation_id_organisation"),
        ),
        sa.ForeignKeyConstraint(
            ["participant_id"], ["participant.id"], name=op.f("fk_meetingdecision_participant_id_participant")
        ),
        sa.ForeignKeyConstraint(["unit_id"], ["unit.id"], name=op.f("fk_meetingdecision_unit_id_unit")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meetingdecision")),
    )
    with op.batch_alter_table("meetingdecision", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_meetingdecision_meeting_id"), ["meeting_id"], unique=False)

    op.create_table(
        "personallink",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("nonce", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by_user_id", sa.Integer(), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["sipcase.id"], name=op.f("fk_personallink_case_id_sipcase")),
        sa.ForeignKeyConstraint(
            ["created_by_user_id"], ["user.id"], name=op.f("fk_personallink_created_by_user_id_user")
        ),
        sa.ForeignKeyConstraint(
            ["participant_id"], ["participant.id"], name=op.f("fk_personallink_participant_id_participant")
        ),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"], name=op.f("fk_personallink_person_id_person")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_personallink")),
    )
    with op.batch_alter_table("personallink", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_personallink_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_personallink_person_id"), ["person_id"], unique=False)

    op.create_table(
        "planapproval",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("method", sa.String(length=10), nullable=False),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by_user_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["participant_id"], ["participant.id"], name=op.f("fk_planapproval_participant_id_participant")
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_user_id"], ["user.id"], name=op.f("fk_planapproval_recorded_by_user_id_user")
        ),
        sa.ForeignKeyConstraint(
            ["version_id"], ["planversion.id"], name=op.f("fk_planapproval_version_id_planversion")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_planapproval")),
        sa.UniqueConstraint("version_id", "participant_id", name=op.f("uq_planapproval_version_id")),
    )
    with op.batch_alter_table("planapproval", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_planapproval_version_id"), ["version_id"], unique=False)

    op.create_table(
        "plancontact",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=160), nullable=False),
        sa.Column("phone", sa.String(length=40), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.ForeignKeyConstraint(
            ["organisation_id"], ["organisation.id"], name=op.f("fk_plancontact_organisation_id_organisation")
        ),
        sa.ForeignKeyConstraint(["plan_id"], ["plan.id"], name=op.f("fk_plancontact_plan_id_plan")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plancontact")),
        sa.UniqueConstraint("plan_id", "organisation_id", name=op.f("uq_plancontact_plan_id")),
    )
    op.create_table(
        "plangoal",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("uid", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("text", sa.String(length=1000), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["plan_id"], ["plan.id"], name=op.f("fk_plangoal_plan_id_plan")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plangoal")),
    )
    with op.batch_alter_table("plangoal", schema=None) as batch_op:
        batch_op.create_index("ix_plangoal_plan_id_position", ["plan_id", "position"], unique=False)

    op.create_table(
        "planeffort",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("uid", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("what", sa.String(length=1000), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=True),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("responsible", sa.String(length=160), nullable=True),
        sa.Column("actor", sa.String(length=160), nullable=True),
        sa.Column("starts_on", sa.Date(), nullable=True),
        sa.Column("ends_on", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("decision_id", sa.Integer(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["decision_id"], ["meetingdecision.id"], name=op.f("fk_planeffort_decision_id_meetingdecision")
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"], ["organisation.id"], name=op.f("fk_planeffort_organisation_id_organisation")
        ),
        sa.ForeignKeyConstraint(["plan_id"], ["plan.id"], name=op.f("fk_planeffort_plan_id_plan")),
        sa.ForeignKeyConstraint(["unit_id"], ["unit.id"], name=op.f("fk_planeffort_unit_id_unit")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_planeffort")),
    )
    with op.batch_alter_table("planeffort", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_planeffort_decision_id"), ["decision_id"], unique=False)
        batch_op.create_index("ix_planeffort_plan_id_position", ["plan_id", "position"], unique=False)

    with op.batch_alter_table("attendance", schema=None) as batch_op:
        batch_op.add_column(sa.Column("carer_support", sa.String(length=10), nullable=True))

    with op.batch_alter_table("meeting", schema=None) as batch_op:
        # Every meeting held before this revision was held as booked.
        batch_op.add_column(sa.Column("moved", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("classification", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("no_change_reason", sa.String(length=1000), nullable=True))


def downgrade() -> None:
    """Undo the change."""
    with op.batch_alter_table("meeting", schema=None) as batch_op:
        batch_op.drop_column("no_change_reason")
        batch_op.drop_column("classification")
        batch_op.drop_column("moved")

    with op.batch_alter_table("attendance", schema=None) as batch_op:
        batch_op.drop_column("carer_support")

    with op.batch_alter_table("planeffort", schema=None) as batch_op:
        batch_op.drop_index("ix_planeffort_plan_id_position")
        batch_op.drop_index(batch_op.f("ix_planeffort_decision_id"))

    op.drop_table("planeffort")
    with op.batch_alter_table("plangoal", schema=None) as batch_op:
        batch_op.drop_index("ix_plangoal_plan_id_position")

    op.drop_table("plangoal")
    op.drop_table("plancontact")
    with op.batch_alter_table("planapproval", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_planapproval_version_id"))

    op.drop_table("planapproval")
    with op.batch_alter_table("personallink", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_personallink_person_id"))
        batch_op.drop_index(batch_op.f("ix_personallink_case_id"))

    op.drop_table("personallink")
    with op.batch_alter_table("meetingdecision", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_meetingdecision_meeting_id"))

    op.drop_table("meetingdecision")
    with op.batch_alter_table("planversion", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_planversion_case_id"))

    op.drop_table("planversion")
    op.drop_table("plan")
    with op.batch_alter_table("huvudansvartransfer", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_huvudansvartransfer_case_id"))

    op.drop_table("huvudansvartransfer")
