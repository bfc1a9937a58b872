"""A mail's meeting time says it is Swedish time: read abroad, the same clock time is another moment."""

from __future__ import annotations


def _parts(mail) -> tuple[str, str, str]:
    """The subject, the plain text and the HTML of one received invitation."""
    message = mail.message
    text = next(p for p in message.walk() if p.get_content_type() == "text/plain").get_content()
    html = next(p for p in message.walk() if p.get_content_type() == "text/html").get_content()
    return str(message["Subject"]), text, html


def test_an_invitation_says_its_time_is_swedish_time_in_the_recipients_language(
    smtp_app, smtp_server, parties, book, english_invitee
):
    # A relative in London reading "at 10:00" takes it for 10:00 there, an hour late; a Swedish-speaking one
    # in Finland an hour early. The calendar part carries the zone; the text a person reads must too.
    english = english_invitee
    book()
    mails = {mail.rcpt_tos[0]: mail for mail in smtp_server.received}
    subject, text, html = _parts(mails[english.email])
    assert subject.endswith("at 10:00 (Swedish time)")
    assert "at 10:00–11:00 (Swedish time)" in text and "at 10:00–11:00 (Swedish time)" in html
    subject, text, html = _parts(mails[parties.region_user.email])
    assert subject.endswith("kl. 10:00 (svensk tid)")
    assert "kl. 10:00–11:00 (svensk tid)" in text and "kl. 10:00–11:00 (svensk tid)" in html
