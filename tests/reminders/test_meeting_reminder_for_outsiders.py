"""The "meeting tomorrow" reminder to the person or a närstående tells them whom to ask, as their kallelse
does: they have no login, so "the details are in sipflow" pointed them to a system they cannot open."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime, timedelta

from remkit import tick
from sqlmodel import Session, select

from sipflow.notifications.models import OutboxMessage

# book() puts the meeting on Monday 9 November 2026, 10:00 Swedish time; its reminders are due a day before.
TICK = datetime(2026, 11, 9, 9, 0, tzinfo=UTC) - timedelta(hours=24) + timedelta(minutes=5)


def _reminder_to(engine, address: str) -> str:
    with Session(engine) as session:
        (row,) = session.exec(
            select(OutboxMessage).where(OutboxMessage.recipient == address, OutboxMessage.kind == "reminder")
        ).all()
    message = email.message_from_string(row.message, policy=email.policy.default)
    return message.get_body(preferencelist=("plain",)).get_content()


def test_the_person_and_a_relative_are_told_whom_to_ask_and_staff_where_to_look(
    app, engine, book, ready, parties
):
    book()
    tick(app, TICK)
    for address in (ready.person.email, ready.relative.email):
        body = _reminder_to(engine, address)
        assert "Påminnelse" in body
        assert "Har du frågor om mötet? Svara på det här e-postmeddelandet, så når du " in body
        assert "i sipflow" not in body and "uppgifter om personen" not in body
    staff = _reminder_to(engine, parties.municipality_user.email)
    assert "de finns i sipflow" in staff and "Har du frågor om mötet?" not in staff
