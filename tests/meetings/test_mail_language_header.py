"""An invitation says in its header what language it is written in (RFC 3282 Content-Language)."""

from __future__ import annotations

from sipflow.db import unit_of_work


def test_an_invitation_names_its_language_for_the_readers_client(
    smtp_app, smtp_server, db_session, parties, book
):
    # The HTML part says it in <html lang>; the plain text, what many clients and screen readers show, only
    # through the header.
    english = parties.municipality_user
    english.language = "en"
    with unit_of_work(db_session):
        db_session.add(english)
    book()
    languages = {mail.rcpt_tos[0]: mail.message["Content-Language"] for mail in smtp_server.received}
    assert languages[english.email] == "en" and languages[parties.region_user.email] == "sv"
