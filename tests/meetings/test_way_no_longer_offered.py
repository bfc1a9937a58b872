"""A meeting that no longer offers the way an invitee said they would take part tells them so.

Someone who answered "yes, by video" to a video meeting then moved on site (or "yes, on site" to one moved
to video) keeps their yes, but the way they chose is gone: the update must not tell them their answer
stands and they need not answer again, nor leave them to join by the old link. It says the meeting is no
longer held that way and asks how they take part now; the others' mails are as before.
"""

from __future__ import annotations

import pytest
from meetingkit import invitation_of

from sipflow.cases.models import Participant
from sipflow.clock import now_utc
from sipflow.db import unit_of_work
from sipflow.meetings import services

ANSWER_STANDS = {
    "sv": "SIP-mötet nedan har ändrats, men inte tiden: ditt svar gäller och du behöver inte svara igen.",
    "en": "The SIP meeting below has changed, but not its time: your answer stands, and you need not answer",
}
NO_LONGER = {
    ("video", "sv"): "SIP-mötet nedan har ändrats, men inte tiden: det hålls inte längre via video, som du "
    "svarade att du skulle delta. Använd svarslänken och svara hur du deltar nu.",
    ("video", "en"): "The SIP meeting below has changed, but not its time: it is no longer held by video, "
    "as you said you would take part. Use the answer link to say how you will take part now.",
    ("on_site", "sv"): "SIP-mötet nedan har ändrats, men inte tiden: det hålls inte längre på plats, som du "
    "svarade att du skulle delta. Använd svarslänken och svara hur du deltar nu.",
    ("on_site", "en"): "The SIP meeting below has changed, but not its time: it is no longer held on site, "
    "as you said you would take part. Use the answer link to say how you will take part now.",
}


def received_by(smtp_server, address: str):
    return [r.message for r in smtp_server.received if address in r.rcpt_tos]


def mail_texts(message) -> str:
    """The plain text and HTML parts of an e-mail, decoded, with the lines of each joined."""
    parts = [p for p in message.walk() if p.get_content_type() in ("text/plain", "text/html")]
    assert len(parts) == 2
    return "\n".join(" ".join(p.get_payload(decode=True).decode().split()) for p in parts)


def answer(db_session, meeting, participant, mode: str) -> None:
    with unit_of_work(db_session):
        services.record_answer(
            db_session,
            meeting,
            invitation_of(db_session, meeting, participant),
            partstat="ACCEPTED",
            answer_mode=mode,
            comment=None,
            via="link",
            now=now_utc(),
        )


@pytest.mark.parametrize("lang", ["sv", "en"])
@pytest.mark.parametrize(
    ("booked", "way", "changed"),
    [
        (("video", None, None), "video", ("on_site", "Storgatan 1", "Rum 3")),
        (("on_site", "Storgatan 1", "Rum 3"), "on_site", ("video", None, None)),
    ],
)
def test_an_answer_whose_way_the_meeting_no_longer_offers_is_asked_how_they_take_part(
    smtp_app, smtp_server, db_session, ready, book, lang, booked, way, changed
):
    with unit_of_work(db_session):
        for participant in (ready.relative, ready.person):
            stored = db_session.get(Participant, participant.id)
            stored.language = lang
            db_session.add(stored)
    mode, location, room = booked
    meeting = book(mode=mode, location=location, room=room)
    answer(db_session, meeting, ready.relative, way)
    # By phone is offered either way: that answer stands whole.
    answer(db_session, meeting, ready.person, "phone")
    smtp_server.clear()

    mode, location, room = changed
    with unit_of_work(db_session):
        change = services.Booking(meeting.starts_at, meeting.ends_at, mode, location, room)
        assert services.change_meeting(db_session, ready.case, meeting, change, now=now_utc())

    relative = invitation_of(db_session, meeting, ready.relative)
    assert (relative.partstat, relative.answer_mode) == ("ACCEPTED", None)
    (mail,) = received_by(smtp_server, ready.relative.email)
    text = mail_texts(mail)
    assert text.count(NO_LONGER[way, lang]) == 2
    assert ANSWER_STANDS[lang] not in text

    (mail,) = received_by(smtp_server, ready.person.email)
    text = mail_texts(mail)
    assert text.count(ANSWER_STANDS[lang]) == 2
    assert NO_LONGER[way, lang] not in text
