"""Who takes part in a case: the queries services, guards, pages and the demo share."""

from __future__ import annotations

from sqlmodel import Session, select

from sipflow.cases.models import Participant
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
