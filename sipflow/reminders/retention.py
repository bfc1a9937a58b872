"""The reminders area's part in retention: a case's reminders lose the addresses they were written to."""

from __future__ import annotations

from sqlalchemy import update
from sqlmodel import Session

from sipflow.cases.models import SipCase
from sipflow.reminders.models import Reminder
from sipflow.retention.anonymise import register_case_scrubber


@register_case_scrubber
def scrub_reminder_addresses(session: Session, cases: list[SipCase]) -> None:
    """Clear the address of every reminder of the cases (staff and invitees are reached by id, not kept)."""
    session.execute(
        update(Reminder)
        .where(Reminder.case_id.in_([case.id for case in cases]))
        .values(recipient_address=None)
        .execution_options(synchronize_session=False)
    )
