"""Helpers for the reminder tests: reading the reminder rows and running a tick."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select

from sipflow.clock import frozen
from sipflow.notifications.models import OutboxMessage
from sipflow.reminders.models import Reminder
from sipflow.reminders.services import dispatch_tick


def reminders(engine, **where) -> list[Reminder]:
    """Every reminder row matching where (column = value), oldest first."""
    with Session(engine) as session:
        query = select(Reminder).order_by(Reminder.due_at, Reminder.id)
        for column, value in where.items():
            query = query.where(getattr(Reminder, column) == value)
        return list(session.exec(query).all())


def reminder_mails(engine) -> list[OutboxMessage]:
    """The outbox rows reminders wrote."""
    with Session(engine) as session:
        return list(session.exec(select(OutboxMessage).where(OutboxMessage.kind == "reminder")).all())


def tick(app, at: datetime):
    """One dispatcher tick at the instant at (the clock frozen there, as `scheduler --once --now` does)."""
    with app.app_context(), frozen(at):
        return dispatch_tick(app, now=at)
