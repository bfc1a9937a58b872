"""meeting.kind, code_record: a SIP's one first meeting is the one held first

A meeting's kind (first | follow_up) was decided when it was booked: 'first' until a meeting of the case had
been held. Two meetings booked before either was held were both 'first', and once both were held the
statistics and the KVÅ code records counted two first meetings for one SIP. The kind is now settled when a
meeting is recorded as held (meetings.services.settle_meeting_kinds); this migration settles it for the
cases recorded before: in each case with a held meeting and more than one meeting of kind 'first', the held
meeting held first (by held_at, then id) is the first meeting and every other meeting of the case a
follow-up. The code records of a held meeting whose kind changed still count with the old kind: as the
coding corrects records (facts, never edited), each is reversed (sign -1, naming it, with sipflow's reason)
and recorded again with the new kind, unattributed (recorded_by_user_id NULL: sipflow did it).

The downgrade leaves the kinds and the records as they are: the corrections are facts, and the old kinds
counted one SIP's meetings twice.

Revision ID: e8a0c2d4f6b9
Revises: b3c5d7e9f1a4
Create Date: 2026-12-09 09:00:00
"""

from collections.abc import Sequence
from datetime import UTC, datetime
from itertools import groupby

import sqlalchemy as sa
from alembic import op

revision: str = "e8a0c2d4f6b9"
down_revision: str | None = "b3c5d7e9f1a4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# sipflow.coding.models.KIND_CORRECTED, as stored (copied: a migration does not import the code it outlives).
KIND_CORRECTED = "Mötestypen rättad (första möte eller uppföljning) efter vilket möte som hölls först"

# Every meeting of the cases with a held meeting and two or more meetings of kind 'first'.
MEETINGS = sa.text(
    """
    SELECT id, case_id, kind, status, held_at, starts_at FROM meeting
    WHERE case_id IN (
        SELECT case_id FROM meeting WHERE kind = 'first' GROUP BY case_id HAVING COUNT(*) > 1
    )
    AND case_id IN (SELECT case_id FROM meeting WHERE status = 'held')
    ORDER BY case_id, id
    """
).columns(
    sa.column("id", sa.Integer),
    sa.column("case_id", sa.Integer),
    sa.column("kind", sa.String),
    sa.column("status", sa.String),
    sa.column("held_at", sa.DateTime(timezone=True)),
    sa.column("starts_at", sa.DateTime(timezone=True)),
)
SET_KIND = sa.text("UPDATE meeting SET kind = :kind WHERE id = :id")

_COPIED = (
    "case_id, meeting_id, unit_id, organisation_id, code, kind, held_on, person_id, municipality_code, "
    "legal_sex, age_years, occasion, organisation_kind"
)
# The meeting's records still counting with another kind than :kind: +1 records no reversal names.
_STANDING_OTHER_KIND = """
    FROM code_record r
    WHERE r.meeting_id = :meeting_id AND r.sign = 1 AND r.meeting_kind <> :kind
    AND NOT EXISTS (SELECT 1 FROM code_record v WHERE v.reverses_id = r.id)
"""
_NOW = sa.bindparam("now", type_=sa.DateTime(timezone=True))
# First the copies with the new kind (they are not of another kind, so the reversals below still find the
# old records), then the reversals of the old ones, each copying what it reverses.
RECORD_AGAIN = sa.text(
    f"INSERT INTO code_record ({_COPIED}, sign, reverses_id, meeting_kind, recorded_at, recorded_by_user_id, "
    f"reason) SELECT {_COPIED}, 1, NULL, :kind, :now, NULL, NULL {_STANDING_OTHER_KIND}"
).bindparams(_NOW)
REVERSE = sa.text(
    f"INSERT INTO code_record ({_COPIED}, sign, reverses_id, meeting_kind, recorded_at, recorded_by_user_id, "
    f"reason) SELECT {_COPIED}, -1, r.id, r.meeting_kind, :now, NULL, :reason {_STANDING_OTHER_KIND}"
).bindparams(_NOW)


def upgrade() -> None:
    """Apply the change."""
    connection = op.get_bind()
    now = datetime.now(UTC)
    rows = connection.execute(MEETINGS).all()
    for _, meetings in groupby(rows, key=lambda row: row.case_id):
        meetings = list(meetings)
        held = [m for m in meetings if m.status == "held"]
        first = min(held, key=lambda m: (m.held_at or m.starts_at, m.id))
        for meeting in meetings:
            kind = "first" if meeting.id == first.id else "follow_up"
            if meeting.kind == kind:
                continue
            connection.execute(SET_KIND, {"kind": kind, "id": meeting.id})
            if meeting.status == "held":
                params = {"meeting_id": meeting.id, "kind": kind, "now": now}
                connection.execute(RECORD_AGAIN, params)
                connection.execute(REVERSE, params | {"reason": KIND_CORRECTED})


def downgrade() -> None:
    """Undo the change: nothing (see the module's docstring)."""
