"""SIP cases, their participants, deadlines and transition log."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, Column, Index, and_, exists, or_, text
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.ext.mutable import MutableDict
from sqlalchemy.orm import aliased
from sqlmodel import Field, SQLModel

from sipflow.people.models import Unit, User

# representative: an adult's god man or förvaltare (legal representative), taking part in their own right.
PARTICIPANT_KINDS = ("organisation", "person", "narstaende", "guardian", "representative")
# The persons taking part besides the person the SIP is for: the place of a meeting may not name them, and
# the person's registerutdrag keeps their addresses and own words back (theirs, art. 15(4)).
PRIVATE_KINDS = ("narstaende", "guardian", "representative")


def _new_uid() -> str:
    return uuid.uuid4().hex


class SipCase(SQLModel, table=True):
    """One SIP: the workflow it follows, where it stands, and its key dates."""

    # Mina SIP reads the cases newest activity first, page by page from an (updated_at, id) key: this
    # index gives that order without a sort and lets a page start at its key.
    # The workflows page counts the cases on each version: one GROUP BY read from this index alone.
    __table_args__ = (
        Index("ix_sipcase_updated_at_id", "updated_at", "id"),
        Index("ix_sipcase_workflow_name_version", "workflow_name", "workflow_version"),
        # The statistics read the SIPs offered in a period by their request date, with the municipality,
        # person, occasion and kept age they filter and group by, from the index alone (no fetch of the wide
        # case row).
        Index(
            "ix_sipcase_requested_at_cover",
            "requested_at",
            "municipality_code",
            "person_id",
            "occasion",
            "age_at_request",
            "id",
        ),
        # Att göra's SIPs without a meeting booked: the few cases flagged, by state (a flag left on a case
        # that moved on is never read), from their own part of the index.
        Index(
            "ix_sipcase_state_unbooked_since_id",
            "state",
            "unbooked_since",
            "id",
            sqlite_where=text("unbooked_since IS NOT NULL"),
            postgresql_where=text("unbooked_since IS NOT NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    # Opaque id for URLs: guessing one tells nothing, and it carries no personal data.
    uid: str = Field(default_factory=_new_uid, max_length=32, unique=True)
    reference: str = Field(max_length=40, unique=True)
    workflow_name: str = Field(max_length=40)
    workflow_version: int
    state: str = Field(max_length=40, index=True)
    # Why the SIP was started (other need, discharge, child ...): the `occasion` of its workflow file.
    occasion: str = Field(max_length=40)
    # Bumped by every state change; a writer holding an older number gets a conflict.
    version: int = 1
    person_id: int = Field(foreign_key="person.id", index=True)
    initiating_organisation_id: int = Field(foreign_key="organisation.id", index=True)
    created_by_user_id: int | None = Field(default=None, foreign_key="user.id")
    requested_at: datetime
    utskrivningsklar_at: datetime | None = None
    child_view: str | None = Field(default=None, max_length=4000)
    questions: str | None = Field(default=None, max_length=4000)
    follow_up_on: datetime | None = None
    closed_reason: str | None = Field(default=None, max_length=500)
    created_at: datetime
    updated_at: datetime
    # Since when the case has had no planned meeting after one was called off or a kallelse was recorded
    # without one; None while a meeting is booked (the meetings area keeps it: meetings.services).
    unbooked_since: datetime | None = None
    # The person's folkbokföringskommun when the SIP was requested: the statistics count the SIP offered
    # (and its follow-ups due) there, so a later move does not change a quarter already published.
    municipality_code: str = Field(foreign_key="municipality.code", max_length=4)
    # The person's age in whole years on the request's Swedish day, written when retention cuts their birth
    # date to its year (retention.anonymise); None before, when the statistics count from the birth date (so
    # a corrected one counts). An anonymised person's SIP stays in the age band it was counted in.
    age_at_request: int | None = None


class Participant(SQLModel, table=True):
    """A party to a case: an organisation (unit, contact person), the person, a närstående or a guardian."""

    # Hybrid properties are SQLAlchemy descriptors, not pydantic fields.
    model_config = {"ignored_types": (hybrid_property,)}
    # The access rule asks "does this organisation take part in this case" for every case it reads; a staff
    # member's calendar feed finds the units they are the contact person of (meetings.feed).
    __table_args__ = (
        Index("ix_participant_case_id_organisation_id", "case_id", "organisation_id"),
        Index("ix_participant_contact_user_id", "contact_user_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="sipcase.id", index=True)
    kind: str = Field(max_length=16)
    role: str = Field(default="participant", max_length=16)
    organisation_id: int | None = Field(default=None, foreign_key="organisation.id", index=True)
    unit_id: int | None = Field(default=None, foreign_key="unit.id")
    contact_user_id: int | None = Field(default=None, foreign_key="user.id")
    # Who last named (or cleared) the unit's contact person, and when (cases.services.set_contact_person;
    # None: never, or before it was kept): a second send of their own choice is then told done.
    contact_named_by_user_id: int | None = Field(default=None, foreign_key="user.id")
    contact_named_at: datetime | None = None
    name: str | None = Field(default=None, max_length=120)
    relation: str | None = Field(default=None, max_length=60)
    email: str | None = Field(default=None, max_length=254)
    phone: str | None = Field(default=None, max_length=40)
    added_at: datetime
    # Who added a närstående or guardian (cases.services.add_private_participant; None: before it was kept,
    # or added by sipflow): a second send of their own add is then told done, not someone else's change.
    added_by_user_id: int | None = Field(default=None, foreign_key="user.id")
    removed_at: datetime | None = None
    # Who took the participant off the SIP and why (cases.services.remove_participant): its history.
    removed_by_user_id: int | None = Field(default=None, foreign_key="user.id")
    removed_reason: str | None = Field(default=None, max_length=500)
    # The language invitations, reminders and links to this participant are written in (sipflow.i18n.LOCALES):
    # the person, a närstående or external staff have no account whose language could say it.
    language: str = Field(default="sv", max_length=8, sa_column_kwargs={"server_default": "sv"})

    def reaches_contact(self, contact) -> bool:
        """Whether mail to the participant goes to its contact person (contact, the User it names, or None):
        a unit without an address of its own whose contact person is active and has an address. Otherwise
        a unit is reached at its shared mailbox, if any (mail_address, the one rule)."""
        return (
            not self.email
            and self.contact_user_id is not None
            and contact is not None
            and bool(contact.active)
            and bool(contact.email)
        )

    def mail_address(self, contact, unit) -> str | None:
        """Where mail to the participant goes, the one rule (meetings.services.invitee_addresses asks it):
        their own address; for a unit without one, its contact person's (reaches_contact), else the unit's
        shared mailbox (unit: the Unit it names, or None; while it is active); None: called another way."""
        if self.email:
            return self.email
        if self.reaches_contact(contact):
            return contact.email
        if self.unit_id is not None and unit is not None and unit.active and unit.email:
            return unit.email
        return None

    @classmethod
    def has_mail_address(cls):
        """Over Participant: mail_address(its contact person, its unit) is not None, the SQL spelling of the
        rule above (reminders.services._reachable asks it of a unit's reminder that dispatch gives to its
        address on the SIP): an address of its own, an active contact person with one (reaches_contact), or
        an active unit with a shared mailbox. Empty text is no address, as in Python. Correlated to
        Participant alone."""
        contact, unit = aliased(User), aliased(Unit)
        return or_(
            and_(cls.email.is_not(None), cls.email != ""),
            exists()
            .where(
                contact.id == cls.contact_user_id,
                contact.active,
                contact.email.is_not(None),
                contact.email != "",
            )
            .correlate(cls),
            and_(
                cls.unit_id.is_not(None),
                exists()
                .where(unit.id == cls.unit_id, unit.active, unit.email.is_not(None), unit.email != "")
                .correlate(cls),
            ),
        )

    def mail_language(self, contact) -> str:
        """The language mail to the participant is written in.

        A unit reached at its contact person's address (reaches_contact; contact: the User it names, or
        None) is written to in that person's language; everyone else, a unit reached at its shared
        mailbox too, in the participant's own.
        """
        if self.reaches_contact(contact) and contact.language:
            return contact.language
        return self.language

    @hybrid_property
    def active(self) -> bool:
        """Still taking part (not removed): the one spelling of the rule, in Python and SQL."""
        return self.removed_at is None

    @active.inplace.expression
    @classmethod
    def _active_expression(cls):
        return cls.removed_at.is_(None)


class Deadline(SQLModel, table=True):
    """A deadline a workflow sets on a case (kallelse, follow-up), and when it was met."""

    # Att göra walks the open deadlines earliest first (sipflow/todo/queries.py); met and cancelled ones,
    # the bulk of the table over the years, are not in this index, so the walk never reads through them,
    # and it holds what the page shows (case, kind), so the walk never reads the table either.
    __table_args__ = (
        Index(
            "ix_deadline_open_due_at",
            "due_at",
            "id",
            "case_id",
            "kind",
            sqlite_where=text("met_at IS NULL AND cancelled_at IS NULL"),
            postgresql_where=text("met_at IS NULL AND cancelled_at IS NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="sipcase.id", index=True)
    kind: str = Field(max_length=40)
    due_at: datetime = Field(index=True)
    met_at: datetime | None = None
    cancelled_at: datetime | None = None
    # The person's age on the day it falls due, written when retention cuts their birth date to its year, as
    # SipCase.age_at_request is: a follow-up due stays in the age band it was counted in.
    age_on_due_day: int | None = None


def met_in_time(met_at, due_at):
    """The one rule of a deadline met in time: met at or before the moment it fell (a later one was met late).

    Over a met deadline's values (the case page's "met late") or over its columns, a SQL expression (the
    statistics' kallelser and follow-ups within their deadline): the same comparison either way.
    """
    return met_at <= due_at


def met_late(met_at, due_at) -> bool:
    """A deadline's values say it was met, after the moment it fell (not met_in_time)."""
    return met_at is not None and not met_in_time(met_at, due_at)


class TransitionLog(SQLModel, table=True):
    """Who moved a case from which state to which, for which party, when and why."""

    # A case's log by case; the statistics ask "did this case take an accepting step" from the index alone,
    # and the case page's timeline reads a page of the newest steps backwards from (case_id, at, id).
    __table_args__ = (
        Index("ix_transitionlog_case_id_trigger", "case_id", "trigger"),
        Index("ix_transitionlog_case_id_at_id", "case_id", "at", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="sipcase.id")
    at: datetime
    user_id: int | None = Field(default=None, foreign_key="user.id")
    organisation_id: int | None = Field(default=None, foreign_key="organisation.id")
    trigger: str = Field(max_length=40)
    from_state: str | None = Field(default=None, max_length=40)
    to_state: str = Field(max_length=40)
    reason: str | None = Field(default=None, max_length=1000)
    # What the transition's form carried (meeting outcome, channel); never a personnummer.
    details: dict = Field(default_factory=dict, sa_column=Column(MutableDict.as_mutable(JSON)))


class CaseVisibility(SQLModel, table=True):
    """A candidate for an organisation's Mina SIP: a case it started or takes part in, with the case's time.

    Only a candidate list: the access rule (security.access) still decides, so consent stays the one rule
    and a row left over (a consent withdrawn, say) can only leave a case out, never show one. Written in
    the same transaction as the case and its participants; updated_at and state follow sipcase's.
    """

    __tablename__ = "case_visibility"
    # Mina SIP walks one organisation's rows newest first from an (updated_at, case_id) key, filtered by
    # state or by kind of SIP (occasion) the same walk within that state's or kind's rows; a step updates
    # every row of its case.
    __table_args__ = (
        Index(
            "ix_case_visibility_organisation_id_updated_at_case_id",
            "organisation_id",
            "updated_at",
            "case_id",
        ),
        Index(
            "ix_case_visibility_organisation_id_state_updated_at_case_id",
            "organisation_id",
            "state",
            "updated_at",
            "case_id",
        ),
        Index(
            "ix_case_visibility_organisation_id_occasion_updated_at_case_id",
            "organisation_id",
            "occasion",
            "updated_at",
            "case_id",
        ),
        Index("ix_case_visibility_case_id", "case_id"),
    )

    organisation_id: int = Field(foreign_key="organisation.id", primary_key=True)
    case_id: int = Field(foreign_key="sipcase.id", primary_key=True)
    updated_at: datetime
    # The case's state, so Mina SIP's state filter is a range of the index above.
    state: str = Field(max_length=40)
    # The case's occasion (its workflow's, never changing), so Mina SIP's filter by kind of SIP is one too.
    occasion: str = Field(max_length=40)
