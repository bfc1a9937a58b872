"""The notifications area's part in retention: a case's mails lose whom they went to and what they said.

A queued mail keeps the whole message as sent (names, addresses, the meeting's place, an invitee's link), so
anonymising its case empties the message and the recipient; the row stays with its kind, subject (never
personal), status and dates, as the count of what was sent.
"""

from __future__ import annotations

from sqlalchemy import update
from sqlmodel import Session

from sipflow.cases.models import SipCase
from sipflow.notifications.models import OutboxMessage
from sipflow.retention.anonymise import register_case_scrubber


@register_case_scrubber
def scrub_mails(session: Session, case: SipCase) -> None:
    """Empty the recipient, message and last error of every mail queued about the case."""
    session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.case_id == case.id)
        .values(recipient="", message="", last_error=None)
        .execution_options(synchronize_session=False)
    )
