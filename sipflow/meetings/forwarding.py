"""Mail to sipflow's own address that a person must read: the human mailbox, and forwarding to it.

Invitations come from SIPFLOW_MAIL_FROM, the ORGANIZER calendar clients send their REPLY to. A person who
presses "Reply" instead writes to the invitation's Reply-To: SIPFLOW_REPLY_TO (a shared, staffed mailbox)
when set, else the staff member who booked the meeting (a unit has no mailbox of its own in sipflow).
Whatever still reaches SIPFLOW_MAIL_FROM and is no usable calendar answer (a client that ignores Reply-To,
an out-of-office note, a bounce) is forwarded to that same mailbox through the outbox, unchanged, as an
attachment, so a mail server's pipe never has to bounce it.
"""

from __future__ import annotations

import email.policy
import logging
import re
from datetime import datetime
from email.message import EmailMessage, Message, MIMEPart
from email.utils import getaddresses

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlmodel import Session, col, select

from sipflow.cases.models import SipCase
from sipflow.clock import now_utc
from sipflow.i18n import known_language
from sipflow.meetings.models import Invitation, Meeting
from sipflow.notifications.models import OutboxMessage
from sipflow.notifications.outbox import enqueue, sender
from sipflow.people.models import Unit, User
from sipflow.security import access

log = logging.getLogger(__name__)

# Set on every forward; a mail carrying it came back to us (an auto-reply of the mailbox): not again.
FORWARD_HEADER = "X-Sipflow-Forwarded"
MAIL_LOCALE = "sv"
_MESSAGE_ID = re.compile(r"<[^<>\s]{1,250}>")
MAX_REFERENCES = 20


class NoMailbox(Exception):
    """No person's mailbox is known for this mail: SIPFLOW_REPLY_TO is unset and no booker was found."""


def human_mailbox(session: Session, meeting: Meeting | None) -> str | None:
    """Where a person's plain reply about meeting should go: SIPFLOW_REPLY_TO, else the booker's address
    (while the booker still sees the SIP: booker_of)."""
    if current_app.config["REPLY_TO"]:
        return current_app.config["REPLY_TO"]
    booker = booker_of(session, meeting)
    return staff_mailbox(session, booker.id if booker is not None else None)


def booker_of(session: Session, meeting: Meeting | None) -> User | None:
    """Who booked meeting, while they may still see its SIP (the access rule, access.can_view_case); None
    once an administrator has moved them to a unit of an organisation that does not: a reply about the SIP,
    which may tell of health, must not reach them, nor their mail speak for their new organisation."""
    if meeting is None or meeting.booked_by_user_id is None:
        return None
    user = session.get(User, meeting.booked_by_user_id)
    unit = session.get(Unit, user.unit_id) if user is not None and user.unit_id is not None else None
    if unit is None:
        return None
    case = session.get(SipCase, meeting.case_id)
    if unit.organisation_id == case.initiating_organisation_id:
        return user  # the initiating organisation always sees its SIP (access.visible_cases_clause)
    return user if access.can_view_case(session, user, case, now=now_utc()) else None


def staff_mailbox(session: Session, user_id: int | None) -> str | None:
    """Where a plain reply to mail a staff member sent (a booking, a personal link) should go, the mail's
    Reply-To: SIPFLOW_REPLY_TO (a shared, staffed mailbox), else that staff member's own address."""
    configured = current_app.config["REPLY_TO"]
    if configured:
        return configured
    if user_id is None:
        return None
    user = session.get(User, user_id)
    # A disabled account's mailbox may be gone with its owner.
    return user.email if user is not None and user.active and user.email else None


def mailbox_locale(session: Session, meeting: Meeting | None) -> str:
    """The human mailbox's language: the booker's own; a shared mailbox has none (Swedish)."""
    if current_app.config["REPLY_TO"] or meeting is None or meeting.booked_by_user_id is None:
        return MAIL_LOCALE
    user = session.get(User, meeting.booked_by_user_id)
    return known_language(user.language if user is not None else None) or MAIL_LOCALE


def sender_of(mail: Message) -> str | None:
    """The one address in the mail's From header, lower case; None when there is not exactly one."""
    try:
        found = [a for _n, a in getaddresses([str(v) for v in mail.get_all("From", [])]) if a]
    except Exception:  # noqa: BLE001 - a From the parser cannot read names no one
        return None
    if len(found) != 1:
        return None
    address = found[0].strip().lower()
    plain = "@" in address and len(address) <= 254 and address.isprintable() and " " not in address
    return address if plain and not any(c in address for c in '<>",;') else None


def meeting_replied_to(session: Session, mail: Message) -> Meeting | None:
    """The meeting whose invitation mail this one answers (In-Reply-To or References), if any."""
    headers = " ".join(str(v) for name in ("In-Reply-To", "References") for v in mail.get_all(name, []))
    ids = _MESSAGE_ID.findall(headers)[-MAX_REFERENCES:]
    if not ids:
        return None
    return session.exec(
        select(Meeting)
        .join(Invitation, Invitation.meeting_id == Meeting.id)
        .join(OutboxMessage, OutboxMessage.invitation_id == Invitation.id)
        .where(col(OutboxMessage.message_id).in_(ids))
        .order_by(col(OutboxMessage.id).desc())
    ).first()


def is_our_own(mail: Message) -> bool:
    """True for a forward of ours, or anything From our own address, come back: forwarding it would loop."""
    return FORWARD_HEADER in mail or sender_of(mail) == current_app.config["MAIL_FROM"].lower()


def forward_mail(
    session: Session, data: bytes, mail: Message, *, meeting: Meeting | None, now: datetime
) -> OutboxMessage:
    """Queue data, unchanged and attached, to the human mailbox; NoMailbox when there is none."""
    meeting = meeting or meeting_replied_to(session, mail)
    mailbox = human_mailbox(session, meeting)
    if mailbox is None:
        raise NoMailbox
    case = session.get(SipCase, meeting.case_id) if meeting is not None else None
    reference = case.reference if case is not None else None
    config = current_app.config
    message = EmailMessage(policy=email.policy.SMTP)
    message["From"] = sender()
    message["To"] = mailbox
    writer = sender_of(mail)
    if writer:
        message["Reply-To"] = writer  # answering the forward answers the one who wrote
    with force_locale(mailbox_locale(session, meeting)):
        # Our own subject: the sender's may name the person, and outbox subjects are shown and kept.
        if reference:
            message["Subject"] = _("Forwarded e-mail about SIP %(reference)s", reference=reference)
        else:
            message["Subject"] = _("Forwarded e-mail to sipflow")
        text = current_app.jinja_env.get_template("emails/forwarded.txt").render(
            address=config["MAIL_FROM"], reference=reference
        )
    # Auto-Submitted: auto-forwarded comes with the kind (notifications.outbox.AUTO_SUBMITTED).
    message[FORWARD_HEADER] = "1"
    message.set_content(text, subtype="plain", charset="utf-8", cte="quoted-printable")
    message.make_mixed()
    message.attach(_original(data))
    row = enqueue(
        session, message, kind="forward", case_id=case.id if case else None, invitation_id=None, now=now
    )
    log.info("mail to the sender address forwarded as outbox %s (case %s)", row.id, row.case_id)
    return row


def _original(data: bytes) -> MIMEPart:
    """The mail as received: message/rfc822 (shown inline) when 7-bit, else an .eml file (base64)."""
    part = MIMEPart(policy=email.policy.SMTP)
    if data.isascii():
        # Kept as text, not re-generated from a parse, so the person sees exactly what came in.
        text = re.sub(r"\r\n|\r|\n", "\r\n", data.decode("ascii"))
        part["Content-Type"] = "message/rfc822"
        part["Content-Disposition"] = 'inline; filename="forwarded.eml"'
        part.set_payload(text if text.endswith("\r\n") else text + "\r\n")
        return part
    part.set_content(data, "application", "octet-stream", cte="base64", filename="forwarded.eml")
    return part
