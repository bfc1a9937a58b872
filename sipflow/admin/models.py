"""The administration log: every administrative change, who made it, when, and the values before and after."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column, Index
from sqlmodel import Field, SQLModel


class AdminChange(SQLModel, table=True):
    """One administrative change (a user, an organisation, a unit, a code, an import) as it was made."""

    __tablename__ = "admin_change"
    # The log page reads newest first, page by page; a target's history is read by kind and id.
    __table_args__ = (
        Index("ix_admin_change_at_id", "at", "id"),
        Index("ix_admin_change_target", "target_kind", "target_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    at: datetime
    # Empty for a change made from the command line (the first administrator, a scripted import).
    actor_user_id: int | None = Field(default=None, foreign_key="user.id")
    # What was done, as a stable code: "user.create", "unit.deactivate", "import.apply", ...
    action: str = Field(max_length=40)
    target_kind: str = Field(max_length=20)
    target_id: int | None = None
    # Field values before and after (None when created or removed); never a password or a token.
    before: dict | None = Field(default=None, sa_column=Column(JSON))
    after: dict | None = Field(default=None, sa_column=Column(JSON))


class CoordinatorScope(SQLModel, table=True):
    """A county or a municipality whose numbers a coordinator follows (one of the two codes is set)."""

    __tablename__ = "coordinator_scope"
    __table_args__ = (Index("ix_coordinator_scope_user", "user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id")
    county_code: str | None = Field(default=None, foreign_key="county.code", max_length=2)
    municipality_code: str | None = Field(default=None, foreign_key="municipality.code", max_length=4)
