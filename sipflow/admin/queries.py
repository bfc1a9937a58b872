"""What the administration pages read."""

from __future__ import annotations

from sqlmodel import Session, select

from sipflow.people.models import Organisation, Unit, User


def users_with_units(session: Session) -> list[tuple[User, Unit | None, Organisation | None]]:
    """Every user with their unit and its organisation (None for users without a unit), by name."""
    return list(
        session.exec(
            select(User, Unit, Organisation)
            .outerjoin(Unit, Unit.id == User.unit_id)
            .outerjoin(Organisation, Organisation.id == Unit.organisation_id)
            .order_by(User.display_name, User.username)
        ).all()
    )
