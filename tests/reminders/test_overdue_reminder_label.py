"""The case page tells a reminder whose moment passed unsent for what it is: one the next dispatch skips as
out of date is "passed, will not be sent", one it still sends (late) says so; neither is "upcoming"."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select
from webkit import login

from sipflow.clock import frozen
from sipflow.reminders.models import DEADLINE_DUE, DEADLINE_MISSED, DEADLINE_SOON, PENDING, Reminder


def _items(page: str) -> list[str]:
    section = page[page.index('id="h-reminders"') :]
    section = section[: section.index("</section>")]
    return [" ".join(item.split()) for item in section.split("<li>")[1:]]


def test_a_reminder_past_its_moment_is_not_listed_as_upcoming(client, db_session, parties, create_case, now):
    # Reported utskrivningsklar a week before the SIP is entered: its kallelse deadline has passed already.
    case = create_case("sip_discharge", utskrivningsklar_at=now - timedelta(days=7))
    pending = db_session.exec(
        select(Reminder.kind).where(Reminder.case_id == case.id, Reminder.status == PENDING)
    ).all()
    assert {DEADLINE_SOON, DEADLINE_DUE, DEADLINE_MISSED} <= set(pending)
    login(client, parties.region_user.username)
    with frozen(now):
        items = _items(client.get(f"/cases/{case.uid}").get_data(as_text=True))
    soon = next(item for item in items if item.startswith("Tidsfrist närmar sig"))
    today = next(item for item in items if item.startswith("Tidsfrist i dag"))
    missed = next(item for item in items if item.startswith("Tidsfrist passerad ("))
    for item in (soon, today):
        assert "Passerad, skickas inte" in item and "Kommande" not in item
    assert "Försenad, skickas i efterhand" in missed and "Kommande" not in missed
