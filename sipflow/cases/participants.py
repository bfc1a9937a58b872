"""Who takes part in a case: the queries services, guards, pages and the demo share."""

from __future__ import annotations

from collections.abc import Iterable

from sqlmodel import Session, select

from sipflow.cases.models import Participant
from sipflow.people.labels import label_facts, organisation_labels
from sipflow.people.models import Organisation


def participating_organisations(session: Session, case_id: int) -> list[Organisation]:
    """The organisations currently taking part in the case, by name."""
    return list(
        session.exec(
            select(Organisation)
            .where(
                Organisation.id.in_(
                    select(Participant.organisation_id).where(
                        Participant.case_id == case_id, Participant.active
                    )
                )
            )
            .order_by(Organisation.name)
        ).all()
    )


def labelled_organisations(session: Session, organisations: Iterable[Organisation]) -> dict[int, str]:
    """Each of the organisations that take or took part in a SIP by the name its pages give it there: one
    sharing its name with another of them followed by where it is (people.labels.organisation_labels), so
    Försäkringskassan of one county and of another are told apart where consent for one is given."""
    return organisation_labels(session, {o.id: label_facts(o) for o in organisations if o.id is not None})


def case_organisation_labels(session: Session, case_id: int) -> dict[int, str]:
    """labelled_organisations of every organisation that takes or took part in the case."""
    organisations = session.exec(
        select(Organisation).where(
            Organisation.id.in_(select(Participant.organisation_id).where(Participant.case_id == case_id))
        )
    ).all()
    return labelled_organisations(session, organisations)


def active_participants(session: Session, case_id: int) -> list[Participant]:
    """The participants taking part in the case, in the order they were added."""
    return list(
        session.exec(
            select(Participant)
            .where(Participant.case_id == case_id, Participant.active)
            .order_by(Participant.id)
        ).all()
    )


def active_guardians(session: Session, case_id: int) -> list[Participant]:
    """The guardians taking part in the case, in the order they were added."""
    return list(
        session.exec(
            select(Participant)
            .where(Participant.case_id == case_id, Participant.kind == "guardian", Participant.active)
            .order_by(Participant.id)
        ).all()
    )
