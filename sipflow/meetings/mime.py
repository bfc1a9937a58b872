"""The MIME shape of an invitation e-mail: the one Google Calendar sends, read by Outlook, Gmail and Apple."""

from __future__ import annotations

import email.policy
from email.headerregistry import Address
from email.message import EmailMessage

METHODS = ("REQUEST", "CANCEL")


def calendar_message(
    *,
    sender: Address,
    to: str,
    subject: str,
    text: str,
    html: str,
    ics: bytes,
    method: str,
    reply_to: str | None = None,
) -> EmailMessage:
    """mixed [ alternative [ text, html, text/calendar ], invite.ics ]; the outbox adds Message-ID, Date."""
    method = method.upper()
    if method not in METHODS:
        raise ValueError(f"Unknown iTIP method {method!r}")
    # Outlook rejects an invitation whose Content-Type method disagrees with the calendar's METHOD
    # ("Inbound Mime method and ICAL method mismatch").
    if f"\r\nMETHOD:{method}\r\n".encode() not in ics:
        raise ValueError(f"The calendar data is not a METHOD:{method}")

    message = EmailMessage(policy=email.policy.SMTP)
    message["From"] = sender  # notifications.outbox.sender: one From for every mail
    message["To"] = to
    if reply_to:
        message["Reply-To"] = reply_to
    message["Subject"] = subject

    # Quoted-printable and base64 keep every part 7-bit, so the outbox can store the message as text.
    message.set_content(text, subtype="plain", charset="utf-8", cte="quoted-printable")
    message.add_alternative(html, subtype="html", charset="utf-8", cte="quoted-printable")
    # The inline text/calendar part is what makes Outlook and Gmail show Accept/Decline buttons.
    # (The email package writes method="REQUEST" quoted; RFC 2045 makes that equal to method=REQUEST.)
    message.add_alternative(
        ics, maintype="text", subtype="calendar", cte="base64", params={"charset": "utf-8", "method": method}
    )
    # The attachment is for clients without iTIP support, which can still import the file.
    message.add_attachment(
        ics,
        maintype="application",
        subtype="ics",
        cte="base64",
        filename="invite.ics",
        params={"name": "invite.ics"},
    )
    for part in message.walk():
        if part is not message:
            del part["MIME-Version"]  # only the top-level header means anything
    return message
