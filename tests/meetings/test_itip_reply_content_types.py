"""The mail server's POST /itip/reply is read as the bytes it sends, whatever Content-Type it gives them.

`curl --data-binary @reply.eml` (a mail server's pipe) labels its body application/x-www-form-urlencoded, and
a form tool multipart/form-data: the NUL check before every view parsed such a body as a form, so the view
read an empty body and refused a sound REPLY as "not exactly one iCalendar object (VCALENDAR)", and every
calendar answer the mail server handed on that way was lost. A JSON body alone is refused (415): it is no
mail, and read as one it was forwarded to a person or answered 503.
"""

from __future__ import annotations

import pytest
from meetingkit import ITIP_SECRET, invitation_of, reply_ics, reply_mail
from sqlmodel import select

from sipflow.notifications.models import OutboxMessage

CONTENT_TYPES = [
    "application/x-www-form-urlencoded",
    "text/calendar; charset=utf-8",
    "message/rfc822",
    "application/octet-stream",
    None,
]


def _post(client, body: bytes, content_type):
    headers = {"Authorization": f"Bearer {ITIP_SECRET}"}
    return client.post("/itip/reply", data=body, content_type=content_type, headers=headers)


@pytest.mark.parametrize("content_type", CONTENT_TYPES)
@pytest.mark.parametrize("whole_mail", [False, True])
def test_a_reply_is_recorded_whatever_content_type_the_mail_server_gives_it(
    client, db_session, ready, book, itip_secret, content_type, whole_mail
):
    meeting = book()
    ics = reply_ics(meeting.uid, "eva.andersson@example.se", partstat="DECLINED", comment="Bortrest")
    response = _post(client, reply_mail(ics) if whole_mail else ics, content_type)
    assert response.status_code == 202, response.get_json()
    assert response.get_json() == {"status": "received", "uid": meeting.uid, "sequence": 0}
    saved = invitation_of(db_session, meeting, ready.relative)
    assert (saved.partstat, saved.comment, saved.answered_via) == ("DECLINED", "Bortrest", "itip")


def test_a_nul_in_a_reply_sent_as_a_form_is_still_refused(client, ready, book, itip_secret):
    meeting = book()
    ics = reply_ics(meeting.uid, "eva.andersson@example.se", comment="Bort\x00rest")
    response = _post(client, ics, "application/x-www-form-urlencoded")
    assert response.status_code == 400
    assert response.get_json()["error"] == "nul"


@pytest.mark.parametrize(
    "content_type", ["application/json", "application/json; charset=utf-8", "application/problem+json"]
)
@pytest.mark.parametrize("with_mailbox", [False, True])
def test_a_json_body_is_refused_as_no_mail(
    app, client, db_session, ready, book, itip_secret, content_type, with_mailbox
):
    # The e-mail parser read '{"a"' as a header, so JSON was a mail: forwarded to the shared mailbox, or
    # without one answered 503 no_mailbox, which a mail server retries for days.
    book()
    saved = app.config["REPLY_TO"]
    app.config["REPLY_TO"] = "sip-bokning@region.example.se" if with_mailbox else ""
    try:
        response = _post(client, b'{"a": 1, "partstat": "DECLINED"}', content_type)
    finally:
        app.config["REPLY_TO"] = saved
    assert response.status_code == 415
    assert response.get_json() == {
        "error": "unsupported_media_type",
        "reason": "Ett kalendersvar är ett e-postmeddelande eller ett iCalendar-objekt, inte JSON: skicka "
        "meddelandets byte som de är (Content-Type message/rfc822 eller text/calendar).",
    }
    db_session.expire_all()
    assert not db_session.exec(select(OutboxMessage).where(OutboxMessage.kind == "forward")).all()
