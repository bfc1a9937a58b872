"""A mail's plain text keeps one blank line between its blocks, whatever of them a message has."""

from __future__ import annotations

from sipflow.clock import now_utc
from sipflow.db import unit_of_work
from sipflow.meetings import services


def _texts(smtp_server) -> list[str]:
    """The plain text of every mail the SMTP server received, with its line ends as a reader sees them."""
    return [
        next(p for p in mail.message.walk() if p.get_content_type() == "text/plain")
        .get_content()
        .replace("\r\n", "\n")
        for mail in smtp_server.received
    ]


def test_an_invitation_and_its_cancellation_have_no_double_gap(
    smtp_app, smtp_server, db_session, ready, book
):
    # A cancellation has no answer link: its place line was followed by two blank lines before the case link
    # or the footer, where the invitation has one.
    meeting = book(mode="mixed", location="Vårdcentralen Teleborg")
    with unit_of_work(db_session):
        services.cancel_meeting(db_session, ready.case, meeting, now=now_utc())
    texts = _texts(smtp_server)
    assert len(texts) >= 6 and any("Plats: Vårdcentralen Teleborg\n\n" in text for text in texts)
    assert [text for text in texts if "\n\n\n" in text] == []
