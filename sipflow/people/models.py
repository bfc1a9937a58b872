"""Counties, municipalities, organisations, units, staff users and persons."""

from __future__ import annotations

import secrets
from datetime import date, datetime

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from sipflow.people.identifiers import PersonIdentifier

# A school is the municipality's (its huvudman is the municipality); a friskola (fristående skola) is an
# independent school, whose huvudman (enskild huvudman) is neither the municipality nor the region.
ORGANISATION_KINDS = ("region", "municipality", "school", "friskola", "other")
# The kinds that are a child's school (a child's SIP needs one taking part).
SCHOOL_KINDS = ("school", "friskola")
# The kinds placed in a municipality (Organisation.municipality_code): a municipality (it needs its code) and
# a school (a municipality's, or an independent one in it). A region spans its county, another agency
# (Försäkringskassan) the country or a county: neither has one.
MUNICIPALITY_KINDS = ("municipality", "school", "friskola")
# A unit's kind: a fixed list of codes (labels in admin/directory.py), so lists and imports agree.
UNIT_KINDS = (
    "vardcentral",
    "sjukhus",
    "psykiatri",
    "bup",
    "habilitering",
    "beroendevard",
    "socialtjanst",
    "boendestod",
    "hemtjanst",
    "lss",
    "elevhalsa",
    "other",
)
USER_ROLES = ("staff", "coordinator", "admin")
LEGAL_SEXES = ("female", "male", "unknown")
IDENTIFIER_KINDS = ("personnummer", "samordningsnummer", "reservnummer")


class County(SQLModel, table=True):
    """A Swedish county (län) and the region that is its health-care huvudman."""

    code: str = Field(primary_key=True, max_length=2)
    name: str = Field(max_length=80)
    region_name: str = Field(max_length=80)


class Municipality(SQLModel, table=True):
    """A municipality (kommun) by its SCB code."""

    code: str = Field(primary_key=True, max_length=4)
    name: str = Field(max_length=80)
    county_code: str = Field(foreign_key="county.code", max_length=2, index=True)


class Organisation(SQLModel, table=True):
    """A party to SIPs: a region, a municipality, a school or another agency."""

    # The administration lists organisations by name, a page at a time from a (name, id) key.
    __table_args__ = (Index("ix_organisation_name_id", "name", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=64, unique=True)
    name: str = Field(max_length=160)
    kind: str = Field(max_length=16)
    county_code: str | None = Field(default=None, foreign_key="county.code", max_length=2)
    municipality_code: str | None = Field(default=None, foreign_key="municipality.code", max_length=4)
    # Deactivated, never deleted (cases refer to it): its units are offered to no new SIP.
    active: bool = Field(default=True, sa_column_kwargs={"server_default": sa.true()})
    # Bumped by every change of what its edit page shows: a form read before it is refused (409), input kept.
    row_version: int = Field(default=1, sa_column_kwargs={"server_default": "1"})


# One row whose token the database replaces whenever a unit, organisation, municipality or county is written
# (triggers, migration f7a9b1c3d5e8): what a process read of the directory is current while its token is.
directory_version = sa.Table(
    "directory_version",
    SQLModel.metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
    sa.Column("token", sa.String(length=32), nullable=False),
)


class Unit(SQLModel, table=True):
    """A unit of an organisation (vårdcentral, socialtjänst, elevhälsa ...)."""

    # The administration lists units by name, a page at a time from a (name, id) key.
    __table_args__ = (Index("ix_unit_name_id", "name", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=64, unique=True)
    organisation_id: int = Field(foreign_key="organisation.id", index=True)
    name: str = Field(max_length=160)
    # Health-care units are the ones that record KVÅ codes for the meetings they take part in.
    is_health_care: bool = False
    kind: str = Field(default="other", max_length=20, sa_column_kwargs={"server_default": "other"})
    # The unit's shared mailbox, for invitations addressed to the unit rather than a person.
    email: str | None = Field(default=None, max_length=254)
    # HSA-id (SE + 10-digit organisation number + "-" + up to 18 letters or digits; 31 at most).
    hsa_id: str | None = Field(default=None, max_length=31, unique=True)
    # Deactivated, never deleted (cases refer to it): offered to no new SIP, refused by the case services.
    active: bool = Field(default=True, sa_column_kwargs={"server_default": sa.true()})
    # Bumped by every change of what its edit page shows: a form read before it is refused (409), input kept.
    row_version: int = Field(default=1, sa_column_kwargs={"server_default": "1"})


class User(UserMixin, SQLModel, table=True):
    """A staff member of one unit, with one or more roles."""

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, unique=True)
    display_name: str = Field(max_length=120)
    email: str | None = Field(default=None, max_length=254)
    password_hash: str = Field(max_length=255)
    unit_id: int | None = Field(default=None, foreign_key="unit.id", index=True)
    roles: str = Field(default="staff", max_length=64)
    active: bool = True
    # Returned by get_id(): rotating it ends every session of the user, copied cookies included.
    session_token: str = Field(default_factory=lambda: secrets.token_urlsafe(32), max_length=64, unique=True)
    # The private calendar feed's key (None until the user first asks for the feed); renewing replaces it.
    calendar_feed_key: str | None = Field(default=None, max_length=32, unique=True)
    # Shown to administrators; set by the login view and by a set-password link that logs the user in.
    last_login_at: datetime | None = None
    # The language of the user's pages and mail (one of sipflow.i18n.LOCALES): chosen by switching the page
    # language or by an administrator; a login restores it.
    language: str = Field(default="sv", max_length=8, sa_column_kwargs={"server_default": "sv"})
    # Bumped by every change of what its edit page shows: a form read before it is refused (409), input kept.
    row_version: int = Field(default=1, sa_column_kwargs={"server_default": "1"})

    def get_id(self) -> str:
        """Identify the login session by the rotatable token, never by the row id."""
        return self.session_token

    @property
    def is_active(self) -> bool:
        """Disabled accounts cannot log in."""
        return self.active

    @property
    def role_set(self) -> frozenset[str]:
        """The user's roles as a set."""
        return frozenset(r for r in self.roles.split(",") if r)

    def has_role(self, role: str) -> bool:
        """True when the user holds role."""
        return role in self.role_set


def _lowered_index(name: str, column: str) -> Index:
    """An index on lower(column) for equality and prefix searches (the administration's user search).

    On PostgreSQL its operator class is text_pattern_ops, so a LIKE 'prefix%' reads it whatever the
    database's collation; equality reads it too.
    """
    label = f"{column}_lower"
    return Index(
        name,
        sa.func.lower(User.__table__.c[column]).label(label),
        postgresql_ops={label: "text_pattern_ops"},
    )


# Addresses are compared without regard to case (a mail's recipients, the directory import, the user form's
# uniqueness check): lower(email) is what those look up. The administration's user search looks up a prefix
# of lower(display_name), lower(username) or lower(email) (admin.queries.user_search_clause).
USER_SEARCH_INDEXES = (
    _lowered_index("ix_user_email_lower", "email"),
    _lowered_index("ix_user_display_name_lower", "display_name"),
    _lowered_index("ix_user_username_lower", "username"),
)


class Person(SQLModel, table=True):
    """The person a SIP is for."""

    id: int | None = Field(default=None, primary_key=True)
    id_kind: str = Field(max_length=20)
    # Stored once, shown masked; found only through id_hash so it never needs to be in a query string.
    id_number: str = Field(max_length=20)
    id_hash: str = Field(max_length=64, unique=True)
    given_name: str = Field(max_length=120)
    family_name: str = Field(max_length=120)
    birth_date: date | None = None
    legal_sex: str = Field(default="unknown", max_length=8)
    home_municipality_code: str = Field(foreign_key="municipality.code", max_length=4, index=True)
    created_at: datetime

    def masked_identifier(self) -> str:
        """The identifier as pages, lists and extracts show it: 'YYYYMMDD-****'."""
        return PersonIdentifier(self.id_kind, self.id_number, self.birth_date, self.legal_sex).masked()
