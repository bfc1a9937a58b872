"""The notifications area's part in retention: a case's mails lose whom they went to and what they said.

The registerutdrag lists each mail sent about the person's cases (`mails_section`).

A queued mail keeps the whole message as sent (names, addresses, the meeting's place, an invitee's link), so
anonymising its case empties the message and the recipient; the row stays with its kind, subject (never
personal), status and dates, as the count of what was sent.

The file sink (no SMTP host set) wrote each of those messages as it was into OUTBOX_DIR too, as
`<UTC timestamp>-<outbox id>.eml` (transports.eml_name): the case's files are deleted in the same run, found
by the row ids in their names. Only names the sink writes are touched (EML_NAME: no path, no dot-dot), and
only in that folder. They are deleted before the run commits: a run that fails afterwards leaves the rows
as they were for the next run, while a file left behind after the commit would never be looked at again.
"""

from __future__ import annotations

import logging
import os
from collections import defaultdict
from collections.abc import Collection
from pathlib import Path

from flask import current_app
from sqlalchemy import func, update
from sqlmodel import Session, select

from sipflow.cases.models import SipCase
from sipflow.meetings.models import Invitation
from sipflow.notifications.models import PLAN_LINK_KIND, OutboxMessage
from sipflow.notifications.transports import EML_NAME
from sipflow.plans.models import PersonalLink
from sipflow.reminders.models import Reminder
from sipflow.retention.anonymise import register_case_scrubber
from sipflow.retention.export import ThirdParties, register_cases_section

log = logging.getLogger(__name__)


def delete_eml_files(directory: str | os.PathLike, outbox_ids: Collection[int]) -> int:
    """Delete the file sink's .eml files of these outbox rows from directory; the number deleted.

    Reads the folder's own listing (never a stored name) and deletes only regular files, or links, named as
    the sink names them, directly in the folder. A folder that does not exist holds nothing.
    """
    wanted = {int(i) for i in outbox_ids}
    if not wanted:
        return 0
    folder = Path(directory)
    try:
        entries = list(os.scandir(folder))
    except FileNotFoundError:
        return 0
    deleted = 0
    for entry in entries:
        match = EML_NAME.fullmatch(entry.name)
        if match is None or int(match["id"]) not in wanted:
            continue
        if entry.is_dir(follow_symlinks=False):
            continue
        # unlink removes a symbolic link itself, never what it points to.
        (folder / match.group(0)).unlink(missing_ok=True)
        deleted += 1
    return deleted


@register_case_scrubber
def scrub_mails(session: Session, cases: list[SipCase]) -> None:
    """Empty the recipient, message and last error of every mail about the cases; delete their files."""
    case_ids = [case.id for case in cases]
    ids = session.exec(select(OutboxMessage.id).where(OutboxMessage.case_id.in_(case_ids))).all()
    if not ids:
        return
    session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.case_id.in_(case_ids))
        .values(recipient="", message="", last_error=None)
        .execution_options(synchronize_session=False)
    )
    # Whether or not SMTP is set now: the sink may have written them before it was.
    deleted = delete_eml_files(current_app.config["OUTBOX_DIR"], ids)
    if deleted:
        log.info("retention deleted %d outbox files of %d cases", deleted, len(cases))


# Whom a mail went to, when the row names no invitation: a reminder's invitation (a meeting's "i morgon"), or
# the personal link the mail carried (same SIP, same address). The address alone is not enough: a
# närstående's address corrected since is no longer theirs on the SIP, yet the old mails went to them.
_REMINDED = (
    select(Invitation.participant_id)
    .join(Reminder, Reminder.invitation_id == Invitation.id)
    .where(Reminder.id == OutboxMessage.reminder_id)
    .correlate(OutboxMessage)
    .scalar_subquery()
)
_LINKED = (
    select(PersonalLink.participant_id)
    .where(
        OutboxMessage.kind == PLAN_LINK_KIND,
        PersonalLink.case_id == OutboxMessage.case_id,
        func.lower(PersonalLink.sent_to) == func.lower(OutboxMessage.recipient),
    )
    .order_by(PersonalLink.id)
    .limit(1)
    .correlate(OutboxMessage)
    .scalar_subquery()
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
        select(OutboxMessage, func.coalesce(Invitation.participant_id, _REMINDED, _LINKED))
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
