"""An invitation says in its header what language it is written in (RFC 3282 Content-Language)."""

from __future__ import annotations


def test_an_invitation_names_its_language_for_the_readers_client(
    smtp_app, smtp_server, parties, book, english_invitee
):
    # The HTML part says it in <html lang>; the plain text, what many clients and screen readers show, only
    # through the header.
    english = english_invitee
    book()
    languages = {mail.rcpt_tos[0]: mail.message["Content-Language"] for mail in smtp_server.received}
    assert languages[english.email] == "en" and languages[parties.region_user.email] == "sv"
