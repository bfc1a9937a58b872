"""Helpers of the user-administration tests: set-password links from mail and from the command line."""

from __future__ import annotations

import email
import email.policy
import re

from sqlmodel import select
from webkit import csrf_token, text_of

from sipflow.notifications.models import OutboxMessage

LINK = re.compile(r"/set-password/([A-Za-z0-9_-]{43})")
NEW_PASSWORD = "blåbär sommar cykel 42"


def link_path(text: str) -> str:
    """The path of the one set-password link in text."""
    found = LINK.findall(text)
    assert len(found) == 1, text
    return f"/set-password/{found[0]}"


def outbox(db_session) -> list[OutboxMessage]:
    """Every outbox row, oldest first."""
    db_session.expire_all()
    return list(db_session.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all())


def body_of(row: OutboxMessage) -> str:
    """The text body of an outbox row."""
    message = email.message_from_string(row.message, policy=email.policy.default)
    return message.get_body(preferencelist=("plain",)).get_content()


def set_password(client, path: str, password: str = NEW_PASSWORD, again: str | None = None):
    """Open the link and submit the password twice; the response of the POST."""
    page = client.get(path)
    assert page.status_code == 200, text_of(page)
    return client.post(
        path,
        data={
            "csrf_token": csrf_token(text_of(page)),
            "new_password": password,
            "new_password_again": password if again is None else again,
        },
    )
