"""Consent (samtycke) records and the organisations each one covers."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ColumnElement, Index, and_, or_
from sqlmodel import Field, SQLModel

CONSENT_FORMS = ("oral", "written")
CONSENT_GIVERS = ("person", "guardian", "legal_representative")
# The giver who consents for a child (and never for an adult: custody ends at 18).
GUARDIAN_GIVER = "guardian"
# A consent row's decision: given (with scope and validity) or declined.
GIVEN = "given"


class Consent(SQLModel, table=True):
    """One consent decision: given (with scope and validity) or declined, and its withdrawal."""

    # The nightly consent's-end job reads the consents whose last day fell in the past week
    # (consent.services.consents_ended_query): a range of this index, not every consent.
    __table_args__ = (Index("ix_consent_valid_until", "valid_until"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="sipcase.id", index=True)
    decision: str = Field(max_length=10)  # given | declined
    given_by: str = Field(max_length=24)
    given_by_name: str | None = Field(default=None, max_length=120)
    # For a child: the guardian (a participant of the case) whose consent this is; one row per guardian.
    given_by_participant_id: int | None = Field(default=None, foreign_key="participant.id")
    form: str = Field(max_length=10)
    information_scope: str | None = Field(default=None, max_length=500)
    valid_until: date | None = None
    declined_reason: str | None = Field(default=None, max_length=500)
    recorded_at: datetime
    recorded_by_user_id: int = Field(foreign_key="user.id")
    withdrawn_at: datetime | None = None
    withdrawn_reason: str | None = Field(default=None, max_length=500)

    @classmethod
    def in_force(cls, today: date) -> ColumnElement[bool]:
        """Given, not withdrawn and still valid on today: the one spelling of "consent in force"."""
        return and_(
            cls.decision == GIVEN,
            cls.withdrawn_at.is_(None),
            or_(cls.valid_until.is_(None), cls.valid_until >= today),
        )

    def is_in_force(self, today: date) -> bool:
        """`in_force` asked of this row in Python (a consent the step holds); keep the two alike."""
        return (
            self.decision == GIVEN
            and self.withdrawn_at is None
            and (self.valid_until is None or self.valid_until >= today)
        )


class ConsentOrganisation(SQLModel, table=True):
    """An organisation that a consent lets take part and share information."""

    # The primary key serves "which organisations does this consent cover"; this one the other way round.
    __table_args__ = (
        Index("ix_consentorganisation_organisation_id_consent_id", "organisation_id", "consent_id"),
    )

    consent_id: int = Field(foreign_key="consent.id", primary_key=True)
    organisation_id: int = Field(foreign_key="organisation.id", primary_key=True)
    # The person withdrew this consent for this organisation alone (services.withdraw_for_organisation):
    # the row no longer covers it (security.access), the consent goes on covering the others.
    withdrawn_at: datetime | None = None
    withdrawn_by_user_id: int | None = Field(default=None, foreign_key="user.id")
    withdrawn_reason: str | None = Field(default=None, max_length=500)

    @classmethod
    def covering(cls) -> ColumnElement[bool]:
        """The row still names its organisation: not withdrawn for it (the one spelling, as in_force)."""
        return cls.withdrawn_at.is_(None)
