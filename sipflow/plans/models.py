"""The plan of a case (a working draft), its frozen versions, approvals, huvudansvar hand-overs and links.

A case has one working plan that staff edit; establishing or revising it freezes a `PlanVersion` whose
content (JSON) and PDF bytes never change afterwards. Goals and efforts carry a stable `uid` so two
versions can be compared item by item.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import date, datetime

from sqlalchemy import JSON, Column, Index, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel

# The person's own goals in their own words ("Det är viktigt för mig…") are kept apart from the
# professionals' goals.
GOAL_KINDS = ("own", "professional")
# An effort (insats) by a participating organisation; what the person and närstående do themselves; a
# measure by others than region and municipality (Försäkringskassan, Arbetsförmedlingen, ...).
EFFORT_KINDS = ("effort", "own", "other")
# The kind of a measure by others (the plan says there is none, or lists them).
BY_OTHERS = "other"
# The organisation kinds whose efforts are measures by others too: agencies such as Försäkringskassan and
# Arbetsförmedlingen taking part, and an independent school (friskola), whose huvudman is neither the
# municipality nor the region. Region and municipality are the SIP's own parties; a municipal school (kind
# school) is the municipality's.
AGENCY_KINDS = ("other", "friskola")
EFFORT_STATUSES = ("planned", "ongoing", "done", "cancelled")
# A cancelled effort stays in the plan as history and counts for nothing the plan must hold.
CANCELLED_EFFORT = "cancelled"
# An effort still to do: planned or ongoing (Att göra lists those past their end; an owner must stay).
OPEN_EFFORT_STATUSES = ("planned", "ongoing")


def by_others(kind: str, organisation_kind: str | None) -> bool:
    """Whether an effort is a measure by others than region and municipality (legal item 3): one written as
    such, or an effort an agency taking part owns."""
    return kind == BY_OTHERS or (kind == "effort" and organisation_kind in AGENCY_KINDS)


def effort_in_force(status: str | None) -> bool:
    """Whether an effort of this status still counts (every status but cancelled)."""
    return status != CANCELLED_EFFORT


# How an approval was given: at the meeting, digitally through the personal link, or on paper.
APPROVAL_METHODS = ("meeting", "digital", "paper")


def new_item_uid() -> str:
    """A random, stable id for a goal or effort across versions; it says nothing about the content."""
    return uuid.uuid4().hex


def new_link_nonce() -> str:
    """The random value a personal link carries; replacing it revokes every link issued before."""
    return secrets.token_hex(16)


class Plan(SQLModel, table=True):
    """The working plan of one case: what staff edit between versions."""

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="sipcase.id", unique=True)
    # Bumped by every save: a writer holding an older number gets a conflict and keeps what they typed.
    row_version: int = 1
    needs: str | None = Field(default=None, max_length=4000)
    # Set when the plan states on purpose that nobody outside region and municipality does anything.
    no_other_measures: bool = False
    # The named contact at the organisation with huvudansvar (the organisation itself is the participant
    # whose role is huvudansvarig: one place for that rule).
    huvudansvar_contact: str | None = Field(default=None, max_length=160)
    fast_vardkontakt: str | None = Field(default=None, max_length=160)
    fast_omsorgskontakt: str | None = Field(default=None, max_length=160)
    # The draft's follow-up day; establishing the plan copies it to the case, where the deadline counts from.
    follow_up_on: date | None = None
    # For a person under 18 without a recorded view of their own (sipcase.child_view): why it is missing.
    child_view_missing_reason: str | None = Field(default=None, max_length=1000)
    updated_at: datetime | None = None
    updated_by_user_id: int | None = Field(default=None, foreign_key="user.id")


class PlanGoal(SQLModel, table=True):
    """A goal of the plan: the person's own, in their own words, or the professionals'."""

    __table_args__ = (Index("ix_plangoal_plan_id_position", "plan_id", "position"),)

    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="plan.id")
    uid: str = Field(default_factory=new_item_uid, max_length=32)
    kind: str = Field(max_length=12)
    text: str = Field(max_length=1000)
    position: int = 0


class PlanEffort(SQLModel, table=True):
    """An effort (insats), something the person or närstående do, or a measure by others."""

    # Att göra reads the efforts one organisation owns, oldest end date first.
    __table_args__ = (
        Index("ix_planeffort_plan_id_position", "plan_id", "position"),
        Index("ix_planeffort_organisation_id_ends_on", "organisation_id", "ends_on"),
    )

    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="plan.id")
    uid: str = Field(default_factory=new_item_uid, max_length=32)
    kind: str = Field(default="effort", max_length=12)
    what: str = Field(max_length=1000)
    # The owner of an effort: a participating organisation, optionally its unit, and a named person.
    organisation_id: int | None = Field(default=None, foreign_key="organisation.id")
    unit_id: int | None = Field(default=None, foreign_key="unit.id")
    responsible: str | None = Field(default=None, max_length=160)
    # Who acts, for kind "own" (the person, a närstående) and "other" (Försäkringskassan ...).
    actor: str | None = Field(default=None, max_length=160)
    starts_on: date | None = None
    ends_on: date | None = None
    status: str = Field(default="planned", max_length=12)
    # The meeting decision this effort came from, so a decision is never typed twice.
    decision_id: int | None = Field(default=None, foreign_key="meetingdecision.id", index=True)
    position: int = 0


class PlanContact(SQLModel, table=True):
    """The contact person of one participating organisation, as the plan names them."""

    __table_args__ = (UniqueConstraint("plan_id", "organisation_id"),)

    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="plan.id")
    organisation_id: int = Field(foreign_key="organisation.id")
    name: str = Field(max_length=160)
    phone: str | None = Field(default=None, max_length=40)
    email: str | None = Field(default=None, max_length=254)


class PlanVersion(SQLModel, table=True):
    """A frozen version of the plan: its content and the exact PDF that was established and approved."""

    __table_args__ = (UniqueConstraint("case_id", "number"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="sipcase.id", index=True)
    number: int
    # The transition that froze it (its trigger, as the workflow file names it).
    trigger: str = Field(max_length=40)
    established_at: datetime
    established_by_user_id: int | None = Field(default=None, foreign_key="user.id")
    content: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    pdf: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    pdf_sha256: str = Field(max_length=64)


class PlanApproval(SQLModel, table=True):
    """One party's approval of one version: an organisation or the person (a participant of the case)."""

    # A party approves a version once (approvals.party_key): two units of one organisation, or the person and
    # a guardian, recording it at the same moment get one row, and the second learns whose stands.
    __table_args__ = (
        UniqueConstraint("version_id", "participant_id"),
        UniqueConstraint("version_id", "party", name="uq_planapproval_party"),
    )

    id: int | None = Field(default=None, primary_key=True)
    version_id: int = Field(foreign_key="planversion.id", index=True)
    participant_id: int = Field(foreign_key="participant.id")
    # The party approving: "organisation:<id>" or "person" (approvals.party_key). NULL on a row that came
    # second for its party before the key was kept (its migration): the first approval is the party's.
    party: str | None = Field(default=None, max_length=32)
    method: str = Field(max_length=10)
    approved_at: datetime
    # Staff who recorded it; empty when the person approved through their personal link.
    recorded_by_user_id: int | None = Field(default=None, foreign_key="user.id")


class HuvudansvarTransfer(SQLModel, table=True):
    """Overall responsibility given or handed to an organisation: who, from, to, when and why."""

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="sipcase.id", index=True)
    at: datetime
    user_id: int | None = Field(default=None, foreign_key="user.id")
    # The organisation the user acted for then (their unit's), as TransitionLog.organisation_id: the user may
    # move to another organisation later, and the timeline must not say they acted for that one.
    organisation_id: int | None = Field(default=None, foreign_key="organisation.id")
    from_organisation_id: int | None = Field(default=None, foreign_key="organisation.id")
    to_organisation_id: int = Field(foreign_key="organisation.id")
    reason: str | None = Field(default=None, max_length=1000)
    # The plan's huvudansvar contact the hand-over cleared (a person of the organisation giving it up), kept
    # here so nothing typed is lost.
    cleared_contact: str | None = Field(default=None, max_length=160)


class PersonalLink(SQLModel, table=True):
    """A signed, expiring, revocable link that lets a person (or närstående) read their plans and approve."""

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    # The case whose page sent it, and the participant it was sent to (the person or a närstående).
    case_id: int = Field(foreign_key="sipcase.id", index=True)
    participant_id: int = Field(foreign_key="participant.id")
    # The address the link was mailed to (NULL: sent before it was kept). The participant's address may be
    # corrected since; the links page shows where each link went.
    sent_to: str | None = Field(default=None, max_length=254)
    nonce: str = Field(default_factory=new_link_nonce, max_length=32)
    created_at: datetime
    created_by_user_id: int | None = Field(default=None, foreign_key="user.id")
    expires_at: datetime
    revoked_at: datetime | None = None
    # The newer link to the same participant that ended this one when it was sent (the links page says so).
    replaced_by_id: int | None = Field(default=None, foreign_key="personallink.id")
    last_used_at: datetime | None = None
    # The e-mail that carried it (NULL: sent before it was kept): the links page says when the mail server
    # refused it for good (personal_links.case_links).
    outbox_id: int | None = Field(default=None, foreign_key="outboxmessage.id")
