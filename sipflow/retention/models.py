"""Which cases and persons retention has anonymised, and when: the job's memory, so it acts once."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, Session, SQLModel

# What anonymisation writes in place of a person's name and identifier (retention.anonymise).
ANONYMOUS_GIVEN_NAME = "Anonymiserad"
ANONYMOUS_FAMILY_NAME = "person"
ANONYMOUS_PREFIX = "ANON"


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


def is_anonymised_person(session: Session, person) -> bool:
    """Whether retention has anonymised the person: nothing may write personal data back into them.

    A person who does not carry what anonymisation writes (the name and the identifier's prefix) is not
    one, and costs no statement; one who does is asked of the record (a reservnummer may begin ANON).
    """
    if person is None or person.id is None:
        return False
    if (person.given_name, person.family_name) != (ANONYMOUS_GIVEN_NAME, ANONYMOUS_FAMILY_NAME):
        return False
    if not (person.id_number or "").startswith(ANONYMOUS_PREFIX):
        return False
    return session.get(AnonymisedPerson, person.id) is not None


def is_anonymised_case(session: Session, case_id: int) -> bool:
    """Whether retention has cleared the case: it takes no typed text any more (none would be cleared)."""
    return case_anonymised_at(session, case_id) is not None


def case_anonymised_at(session: Session, case_id: int) -> datetime | None:
    """When retention cleared the case, None while it has not: the case page says so, since its empty
    fields would otherwise read as lost."""
    record = session.get(AnonymisedCase, case_id)
    return None if record is None else record.anonymised_at
