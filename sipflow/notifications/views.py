"""Development pages: the e-mails the file sink wrote into OUTBOX_DIR (never registered in production).

Even in development the messages hold answer links and the addresses of private persons, so a user is
shown only the messages about cases their organisation may see (the rule of `security.access`: the
invitations of a meeting they booked too, while they see its SIP) and the messages sent to their own
address; national administrators see all (`admin.regions.is_national_administrator`), a region's
administrator no more than other staff: the outbox holds every region's mail, and no mail row names a
region of its own.
A personal link or a password link is shown to its recipient alone (and national administrators): it opens
more than the case it was sent from. In the messages staff may read, the links are masked unless the mail was
sent to them (`mask_links`): an answer link is the invitee's credential, and whoever holds it answers in
their name. The files on disk stay as the sink wrote them.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses
from pathlib import Path

from flask import Blueprint, abort, current_app, render_template, send_file
from flask_login import current_user, login_required
from sqlalchemy import and_, or_, true
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import func, select

from sipflow.admin.regions import is_national_administrator
from sipflow.cases.models import SipCase
from sipflow.clock import now_utc
from sipflow.db import get_session
from sipflow.notifications.models import OUTBOX_STATUSES, PERSONAL_KINDS, OutboxMessage
from sipflow.notifications.transports import EML_NAME
from sipflow.security.access import visible_cases_clause
from sipflow.translated import lazy_gettext as _l

bp = Blueprint("dev", __name__, url_prefix="/dev")


@dataclass(frozen=True)
class EmlFile:
    """One .eml file of the outbox folder, with the headers the list shows."""

    name: str
    date: datetime | None
    to: str
    subject: str


def _outbox_dir() -> Path:
    return Path(current_app.config["OUTBOX_DIR"])


def visible_messages_clause(user) -> ColumnElement[bool]:
    """A WHERE clause over OutboxMessage for the messages user may read on these pages."""
    if is_national_administrator(get_session(), user):
        return true()
    # visible_cases_clause is false for anyone who sees no case (a coordinator, staff without a unit).
    # The invitations of a meeting the user booked are among them while the user sees its SIP, and no
    # longer: a booker whose organisation lost the SIP (moved, consent withdrawn) reads none of them.
    visible_cases = select(SipCase.id).where(visible_cases_clause(user, now=now_utc()))
    mine = [and_(OutboxMessage.case_id.in_(visible_cases), OutboxMessage.kind.not_in(PERSONAL_KINDS))]
    if user.email:
        mine.append(func.lower(OutboxMessage.recipient) == user.email.strip().lower())
    return or_(*mine)


def _visible_ids() -> set[int] | None:
    """The outbox row ids the current user may read; None for every row (national administrators)."""
    if is_national_administrator(get_session(), current_user):
        return None
    clause = visible_messages_clause(current_user)
    return set(get_session().exec(select(OutboxMessage.id).where(clause)).all())


def _names() -> list[str]:
    """The .eml files the file sink wrote that the user may read, newest first (by time and row id)."""
    try:
        entries = os.listdir(_outbox_dir())
    except FileNotFoundError:
        return []
    visible = _visible_ids()
    matches = [m for m in map(EML_NAME.match, entries) if m and (visible is None or int(m["id"]) in visible)]
    matches.sort(key=lambda m: (m["stamp"], int(m["id"])), reverse=True)
    return [m.group(0) for m in matches]


def _parse(path: Path, *, headers_only: bool = False) -> EmailMessage:
    with path.open("rb") as handle:
        return BytesParser(policy=policy.default).parse(handle, headersonly=headers_only)


def _date(message: EmailMessage) -> datetime | None:
    value = getattr(message.get("Date"), "datetime", None)
    # A date without a zone (-0000) cannot be shown in Swedish time: leave it out.
    return value if value is not None and value.tzinfo is not None else None


def _listed(name: str) -> Path:
    """The path of name when it is one of the user's listed files; 404 for anything else (no path tricks)."""
    if not EML_NAME.match(name) or name not in _names():
        abort(404)
    return _outbox_dir() / name


# A link in a message's text; the case page's (which staff open with their login) is left as it is.
_LINK = re.compile(r"https?://[^\s<>\"']+")
MASK = "…"


def mask_links(text: str, public_url: str) -> str:
    """text with each link's path cut after its first part (https://host/answer/…), except the case page's.

    Every other link in a mail (answer link, personal link, password link, video room) is its recipient's.
    """
    case_pages = public_url.rstrip("/") + "/cases/"

    def masked(match: re.Match) -> str:
        link = match.group(0)
        if link.startswith(case_pages):
            return link
        scheme, _, rest = link.partition("://")
        host, _, path = rest.partition("/")
        first = path.split("/", 1)[0].split("?", 1)[0]
        return f"{scheme}://{host}/{first}/{MASK}" if first and first != path else f"{scheme}://{host}/{MASK}"

    return _LINK.sub(masked, text)


def _reveals_links(message: EmailMessage) -> bool:
    """Whether the current user may read the message's links: national administrators, and the recipient."""
    if is_national_administrator(get_session(), current_user):
        return True
    own = (current_user.email or "").strip().lower()
    recipients = [
        address.lower() for _name, address in getaddresses([str(v) for v in message.get_all("To", [])])
    ]
    return bool(own) and recipients == [own]


STATUS_LABELS = {
    "pending": _l("Waiting to be sent"),
    "sending": _l("Being sent"),
    "sent": _l("Sent"),
    "failed": _l("Failed"),
    "uncertain": _l("Uncertain: perhaps sent, never sent again"),
}
assert set(STATUS_LABELS) == set(OUTBOX_STATUSES)


@bp.get("/outbox")
@login_required
def outbox():
    """The .eml files newest first, and how many outbox rows are in each status."""
    files = []
    for name in _names():
        try:
            message = _parse(_outbox_dir() / name, headers_only=True)
        except OSError:
            continue  # removed while listing
        files.append(
            EmlFile(name, _date(message), str(message.get("To", "")), str(message.get("Subject", "")))
        )
    counts = dict(
        get_session()
        .exec(
            select(OutboxMessage.status, func.count())
            .where(visible_messages_clause(current_user))
            .group_by(OutboxMessage.status)
        )
        .all()
    )
    # Each status named in the page's language, with the value as stored for developers reading the database.
    statuses = [(status, counts.get(status, 0)) for status in OUTBOX_STATUSES]
    return render_template(
        "dev/outbox.html",
        files=files,
        statuses=statuses,
        status_labels=STATUS_LABELS,
        outbox_dir=str(_outbox_dir()),
        sees_all=is_national_administrator(get_session(), current_user),
    )


@bp.get("/outbox/<name>")
@login_required
def message(name: str):
    """One message: its headers, its text part, its parts and the raw text."""
    try:
        raw = _listed(name).read_bytes()
    except FileNotFoundError:
        abort(404)  # removed since it was listed
    parsed = BytesParser(policy=policy.default).parsebytes(raw)
    reveal = _reveals_links(parsed)
    body = parsed.get_body(preferencelist=("plain",))
    text = body.get_content() if body is not None else None
    if text is not None and not reveal:
        text = mask_links(text, current_app.config["PUBLIC_URL"])
    parts = [
        {
            "content_type": part.get_content_type(),
            "charset": part.get_content_charset(),
            "encoding": part.get("Content-Transfer-Encoding", ""),
            "filename": part.get_filename(),
            "method": part.get_param("method"),
        }
        for part in parsed.walk()
    ]
    return render_template(
        "dev/message.html",
        name=name,
        date=_date(parsed),
        headers=[(key, str(value)) for key, value in parsed.items()],
        text=text,
        parts=parts,
        # The raw text (quoted-printable, base64) would show the links the text masks: its recipient's only.
        raw=raw.decode("ascii", "replace") if reveal else None,
    )


@bp.get("/outbox/<name>/raw")
@login_required
def raw(name: str):
    """The .eml file as it is, for a mail program: to administrators and its recipient (it holds links)."""
    path = _listed(name)
    try:
        reveal = _reveals_links(_parse(path, headers_only=True))
    except FileNotFoundError:
        abort(404)
    if not reveal:
        abort(403)
    return send_file(path, mimetype="message/rfc822", as_attachment=True, download_name=name)
