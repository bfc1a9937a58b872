"""Which cases and persons retention has anonymised, and when: the job's memory, so it acts once."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel


class AnonymisedCase(SQLModel, table=True):
    """A case whose free text retention has cleared; the counts for statistics remain."""

    __tablename__ = "anonymised_case"

    case_id: int = Field(
        foreign_key="sipcase.id", primary_key=True, sa_column_kwargs={"autoincrement": False}
    )
    # The final state it had, and so the retention that applied.
    final_state: str = Field(max_length=40)
    anonymised_at: datetime


class AnonymisedPerson(SQLModel, table=True):
    """A person whose name and identifier retention has replaced, once every case of theirs had expired."""

    __tablename__ = "anonymised_person"

    person_id: int = Field(
        foreign_key="person.id", primary_key=True, sa_column_kwargs={"autoincrement": False}
    )
    anonymised_at: datetime
