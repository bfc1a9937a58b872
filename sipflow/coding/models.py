"""The code catalogue, which code a unit records, and the code records (facts, corrected by reversal)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Index, exists, select
from sqlalchemy.orm import aliased
from sqlmodel import Field, SQLModel

from sipflow.translated import lazy_gettext as _l

# What a code counts as: a SIP meeting (XU045, AU124), or the add-on for care at a distance (ZV051).
CODE_KINDS = ("sip", "distance")

# The labels the catalogue was seeded with (migration a7b9c1d3e5f7), as stored (Swedish), and their words in
# the reader's language. A label an administrator typed is the administrator's own text, shown as typed.
SEEDED_LABELS = {
    "SIP-möte (räknas som SIP)": _l("SIP meeting (counts as a SIP)"),
    "Vård på distans (video)": _l("Care at a distance (video)"),
}


def code_label(label: str) -> str:
    """A code's label in the reader's language when sipflow seeded it, else as the catalogue holds it."""
    return str(SEEDED_LABELS.get(label, label))


# The reason sipflow itself gives a reversal, as stored (Swedish, as the seeded labels): a meeting's records
# reversed and recorded again with the kind it was settled as (another meeting turned out to be held first).
# Migration e8a0c2d4f6b9 stores the same words. Shown in the reader's language; a reason staff typed as typed.
KIND_CORRECTED = "Mötestypen rättad (första möte eller uppföljning) efter vilket möte som hölls först"
SYSTEM_REASONS = {
    KIND_CORRECTED: _l("Meeting type corrected (first meeting or follow-up) by which meeting was held first"),
}


def reason_label(reason: str | None) -> str | None:
    """A reversal's reason in the reader's language when sipflow gave it, else as typed (None: a record)."""
    return None if reason is None else str(SYSTEM_REASONS.get(reason, reason))


class CodeDefinition(SQLModel, table=True):
    """One KVÅ code in the catalogue; retired codes stay for the records that carry them."""

    __tablename__ = "code_definition"

    code: str = Field(primary_key=True, max_length=10)
    label: str = Field(max_length=200)
    kind: str = Field(max_length=10)
    created_at: datetime
    retired_at: datetime | None = None


class CodeAssignment(SQLModel, table=True):
    """Which SIP code a unit records: set for a unit, else for its organisation's kind (region, ...)."""

    __tablename__ = "code_assignment"

    id: int | None = Field(default=None, primary_key=True)
    # Exactly one of the two is set; a unit's own assignment wins over its organisation kind's.
    unit_id: int | None = Field(default=None, foreign_key="unit.id", unique=True)
    organisation_kind: str | None = Field(default=None, max_length=16, unique=True)
    code: str = Field(foreign_key="code_definition.code", max_length=10)


class CodeRecord(SQLModel, table=True):
    """A code recorded for one unit at one held meeting, with what statistics group by at that moment.

    A fact: a correction writes a record with sign -1 that names the one it reverses, never an edit. The
    person's municipality, sex and age are copied as they were on the meeting day, so a later move counts
    each meeting where it happened.
    """

    __tablename__ = "code_record"
    __table_args__ = (
        # The indicators read one period (and county or municipality) at a time.
        Index("ix_code_record_held_on_municipality_code", "held_on", "municipality_code"),
        Index("ix_code_record_meeting_id", "meeting_id"),
        # The statistics' SIP meetings of a period and area, read from the index alone (no table lookups).
        Index(
            "ix_code_record_period_cover",
            "held_on",
            "municipality_code",
            "meeting_id",
            "person_id",
            "meeting_kind",
            "kind",
            "sign",
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="sipcase.id", index=True)
    meeting_id: int = Field(foreign_key="meeting.id")
    unit_id: int = Field(foreign_key="unit.id")
    organisation_id: int = Field(foreign_key="organisation.id")
    code: str = Field(foreign_key="code_definition.code", max_length=10)
    kind: str = Field(max_length=10)
    # +1 for a record, -1 for its reversal.
    sign: int = 1
    reverses_id: int | None = Field(default=None, foreign_key="code_record.id", unique=True)
    held_on: date
    # first | follow_up, as the meeting was.
    meeting_kind: str = Field(max_length=12)
    person_id: int = Field(foreign_key="person.id")
    municipality_code: str = Field(foreign_key="municipality.code", max_length=4)
    legal_sex: str = Field(max_length=8)
    age_years: int | None = None
    occasion: str = Field(max_length=40)
    organisation_kind: str = Field(max_length=16)
    recorded_at: datetime
    recorded_by_user_id: int | None = Field(default=None, foreign_key="user.id")
    # Why a reversal was written ("registrerat i fel" and the staff member's words); None on a record.
    reason: str | None = Field(default=None, max_length=500)

    @classmethod
    def standing(cls):
        """SQL: the record still counts: a +1 record no reversal names (the one rule statistics use)."""
        reversal = _REVERSAL
        # reverses_id is unique, so its index answers the NOT EXISTS with one seek per record.
        return (cls.sign == 1) & ~exists(select(reversal.id).where(reversal.reverses_id == cls.id))


# The reversal side of CodeRecord.standing(), built once (an alias made per call costs more than its query).
_REVERSAL = aliased(CodeRecord)
