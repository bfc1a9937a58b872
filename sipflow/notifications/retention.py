"""The notifications area's part in retention: a case's mails lose whom they went to and what they said.

The registerutdrag lists each mail sent about the person's cases (`mails_section`).

A queued mail keeps the whole message as sent (names, addresses, the meeting's place, an invitee's link), so
anonymising its case empties the message and the recipient; the row stays with its kind, subject (never
personal), status and dates, as the count of what was sent.
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import update
from sqlmodel import Session, select

from sipflow.cases.models import SipCase
from sipflow.meetings.models import Invitation
from sipflow.notifications.models import OutboxMessage
from sipflow.retention.anonymise import register_case_scrubber
from sipflow.retention.export import ThirdParties, register_cases_section


@register_case_scrubber
def scrub_mails(session: Session, case: SipCase) -> None:
    """Empty the recipient, message and last error of every mail queued about the case."""
    session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.case_id == case.id)
        .values(recipient="", message="", last_error=None)
        .execution_options(synchronize_session=False)
    )


def mails_section(
    session: Session, cases: list[SipCase], third_parties: ThirdParties
) -> dict[int, list[dict]]:
    """The mails sent about each case for the registerutdrag: to whom, about what, when, how it went.

    The mail log is the record of the recipients the person's data was disclosed to (art. 15(1)(c)); the
    bodies are not repeated (what they said is the case's own data, exported beside it). A mail to a
    närstående or guardian keeps back their address (their data, art. 15(4)): it says only that it went to
    another person. One statement for all the person's cases.
    """
    found: dict[int, list[dict]] = defaultdict(list)
    rows = session.exec(
        select(OutboxMessage, Invitation.participant_id)
        .outerjoin(Invitation, Invitation.id == OutboxMessage.invitation_id)
        .where(OutboxMessage.case_id.in_([case.id for case in cases]))
        .order_by(OutboxMessage.created_at, OutboxMessage.id)
    ).all()
    for mail, participant_id in rows:
        other = third_parties.holds(mail.case_id, participant_id=participant_id, address=mail.recipient)
        found[mail.case_id].append(
            {
                "kind": mail.kind,
                # Emptied by retention once the case is anonymised.
                "recipient": None if other or not mail.recipient else mail.recipient,
                "recipient_is_other_person": other,
                "recipient_participant_id": participant_id,
                "subject": mail.subject,
                "created_at": mail.created_at,
                "sent_at": mail.sent_at,
                "status": mail.status,
            }
        )
    return found


register_cases_section("mails", mails_section)
