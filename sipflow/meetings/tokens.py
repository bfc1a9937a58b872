"""Signed, expiring answer links: an invitee answers without an account, and nobody else can.

The token carries the invitation's id, its nonce and an expiry, signed with the app's secret key
(itsdangerous, which Flask already uses for its sessions). It holds no personal data. Replacing the
invitation's nonce (the invitee was removed) makes every link issued before it worthless. The expiry is
the meeting's end when the link was mailed; a meeting moved later keeps its earlier links working, so an
expired token still names its invitation (AnswerLinkError.link) for the caller to judge by the meeting.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from itsdangerous import BadSignature, URLSafeSerializer

SALT = "sipflow.meetings.answer"


class AnswerLinkError(ValueError):
    """The link cannot be used: code is 'tampered' or 'expired' (then link is what the genuine token says)."""

    def __init__(self, code: str, link: AnswerLink | None = None):
        super().__init__(code)
        self.code = code
        self.link = link


@dataclass(frozen=True)
class AnswerLink:
    """What a valid link says: which invitation, with which nonce."""

    invitation_id: int
    nonce: str


def make_answer_token(secret_key: str, invitation_id: int, nonce: str, expires_at: datetime) -> str:
    """A token for the answer link of one invitation, valid until expires_at."""
    payload = {"i": invitation_id, "n": nonce, "e": int(expires_at.timestamp())}
    return URLSafeSerializer(secret_key, salt=SALT).dumps(payload)


def read_answer_token(secret_key: str, token: str, *, now: datetime) -> AnswerLink:
    """The invitation a token names; AnswerLinkError when it was altered or has expired."""
    serializer = URLSafeSerializer(secret_key, salt=SALT)
    try:
        payload = serializer.loads(token)
    except BadSignature:
        raise AnswerLinkError("tampered") from None
    # Base64 decoding passes over characters outside its alphabet and extra padding: only the token exactly
    # as it was mailed is that link (as the personal links are checked by their exact spelling).
    if serializer.dumps(payload) != token:
        raise AnswerLinkError("tampered")
    if (
        not isinstance(payload, dict)
        or not isinstance(payload.get("i"), int)
        or not isinstance(payload.get("n"), str)
        or not isinstance(payload.get("e"), int)
    ):
        raise AnswerLinkError("tampered")
    link = AnswerLink(payload["i"], payload["n"])
    if datetime.fromtimestamp(payload["e"], UTC) <= now:
        raise AnswerLinkError("expired", link)
    return link
