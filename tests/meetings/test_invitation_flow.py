"""Booking, kallelse, updates and cancellations, end to end: the e-mails an SMTP server really receives.

Each invitation is read back from what aiosmtpd received and parsed by two independent iCalendar parsers
(icalendar and ical), so what a calendar client would see is what the tests assert.
"""

from __future__ import annotations

from datetime import UTC, timedelta

import pytest
from ical.calendar_stream import IcsCalendarStream
from icalendar import Calendar
from meetingkit import everyone, fire, invitation_of, next_week_at
from sqlmodel import select

from sipflow.cases.models import Deadline, SipCase
from sipflow.clock import now_utc
from sipflow.db import unit_of_work
from sipflow.errors import InvalidInput
from sipflow.meetings import services
from sipflow.meetings.models import Invitation, Meeting
from sipflow.notifications.models import OutboxMessage
from sipflow.people.models import Person


def calendar_part(message) -> bytes:
    """The text/calendar part inside multipart/alternative."""
    parts = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
    assert len(parts) == 1
    return parts[0].get_payload(decode=True)


def attachment(message) -> bytes:
    parts = [p for p in message.walk() if p.get_filename() == "invite.ics"]
    assert len(parts) == 1
    return parts[0].get_payload(decode=True)


def both_parsers(ics: bytes):
    """The calendar and its one VEVENT as icalendar reads them, and the VEVENT as ical reads it.

    Both must agree on the method: the ical package keeps it on the calendar.
    """
    calendar = Calendar.from_ical(ics)
    events = calendar.walk("VEVENT")
    assert len(events) == 1
    other = IcsCalendarStream.calendar_from_ics(ics.decode())
    assert len(other.events) == 1
    assert other.method == str(calendar["METHOD"])
    return calendar, events[0], other.events[0]


def received_by(smtp_server, address: str):
    return [r.message for r in smtp_server.received if address in r.rcpt_tos]


def test_the_kallelse_books_the_meeting_and_invites_everyone_with_an_address(
    smtp_app, smtp_server, db_session, ready, book
):
    meeting = book()
    case = db_session.get(SipCase, ready.case.id)
    assert case.state == "invited"
    deadline = db_session.exec(select(Deadline).where(Deadline.case_id == case.id)).one()
    assert deadline.met_at is not None
    assert meeting.uid.endswith("@sipflow") and meeting.sequence == 0
    assert meeting.video_url.startswith("https://meet.jit.si/sipflow-")

    assert sorted(addr for r in smtp_server.received for addr in r.rcpt_tos) == sorted(
        [
            _contact_address(db_session, ready.region),
            _contact_address(db_session, ready.municipality),
            "testa.person@example.se",
            "eva.andersson@example.se",
        ]
    )
    # The brother has no address: invited "some other way", and no e-mail row is written for him.
    silent = invitation_of(db_session, meeting, ready.relative_without_email)
    assert (silent.channel, silent.email) == ("other", None)
    assert not db_session.exec(select(OutboxMessage).where(OutboxMessage.invitation_id == silent.id)).all()
    rows = db_session.exec(select(OutboxMessage).where(OutboxMessage.case_id == case.id)).all()
    assert {r.status for r in rows} == {"sent"} and len(rows) == 4

    message = received_by(smtp_server, "eva.andersson@example.se")[0]
    kinds = [p.get_content_type() for p in message.walk()]
    assert kinds == [
        "multipart/mixed",
        "multipart/alternative",
        "text/plain",
        "text/html",
        "text/calendar",
        "application/ics",
    ]
    assert [p for p in message.walk() if p.get_content_type() == "text/calendar"][0].get_param("method") == (
        "REQUEST"
    )
    ics = calendar_part(message)
    assert attachment(message) == ics
    calendar, event, other = both_parsers(ics)
    assert str(calendar["METHOD"]) == "REQUEST"
    assert str(event["UID"]) == meeting.uid == other.uid
    assert int(event["SEQUENCE"]) == 0 == other.sequence
    assert event.decoded("DTSTART").astimezone(UTC) == meeting.starts_at.astimezone(UTC)
    assert other.dtstart.astimezone(UTC) == meeting.starts_at.astimezone(UTC)
    assert event["DTSTART"].params["TZID"] == "Europe/Stockholm"
    assert str(event["ORGANIZER"]) == "mailto:sip@sipflow.localhost"
    assert other.organizer.uri == "mailto:sip@sipflow.localhost"
    # The närstående sees the staff invitees and herself, never the person's (or the brother's) address.
    attendees = {str(a).removeprefix("mailto:"): a.params for a in event.get("ATTENDEE")}
    assert "eva.andersson@example.se" in attendees
    assert "testa.person@example.se" not in attendees
    own = attendees["eva.andersson@example.se"]
    assert (own["PARTSTAT"], own["RSVP"], own["ROLE"]) == ("NEEDS-ACTION", "TRUE", "OPT-PARTICIPANT")
    assert "CN" not in own
    assert {a.uri.removeprefix("mailto:") for a in other.attendees} == set(attendees)
    assert message["From"].addresses[0].addr_spec == "sip@sipflow.localhost"


def _contact_address(db_session, participant) -> str:
    from sipflow.people.models import User

    return db_session.get(User, participant.contact_user_id).email


def test_nothing_names_the_person_in_subject_summary_or_description(
    smtp_app, smtp_server, db_session, ready, book
):
    book(mode="on_site", location="Storgatan 1, Växjö", room="Rum 3")
    person = db_session.get(Person, ready.case.person_id)
    forbidden = [person.given_name, person.family_name, person.id_number, person.id_number[2:8]]
    assert smtp_server.received
    for received in smtp_server.received:
        message = received.message
        _calendar, event, _other = both_parsers(calendar_part(message))
        for text in (str(message["Subject"]), str(event["SUMMARY"]), str(event["DESCRIPTION"])):
            assert not any(word in text for word in forbidden), text
        assert ready.case.reference in str(message["Subject"])
        assert str(event["SUMMARY"]).startswith("SIP-möte")
        assert "Storgatan 1, Växjö, Rum 3" in str(event["LOCATION"])


def test_moving_the_meeting_sends_an_update_with_a_higher_sequence(
    smtp_app, smtp_server, db_session, ready, book
):
    meeting = book()
    answered = invitation_of(db_session, meeting, ready.relative)
    with unit_of_work(db_session):
        services.record_answer(
            db_session,
            meeting,
            answered,
            partstat="ACCEPTED",
            answer_mode="video",
            comment="Kommer tio minuter sent.",
            via="link",
            now=now_utc(),
        )
    smtp_server.clear()
    later = next_week_at(14)
    with unit_of_work(db_session):
        changed = services.change_meeting(
            db_session,
            ready.case,
            meeting,
            services.Booking(later, later + timedelta(minutes=90), "video", None, None),
            now=now_utc(),
        )
    assert changed
    assert len(smtp_server.received) == 4
    for received in smtp_server.received:
        assert received.message["Subject"].startswith("Ändrat")
        calendar, event, other = both_parsers(calendar_part(received.message))
        assert str(calendar["METHOD"]) == "REQUEST"
        assert str(event["UID"]) == meeting.uid and int(event["SEQUENCE"]) == 1 == other.sequence
        assert other.dtstart.astimezone(UTC) == later and other.dtend.astimezone(UTC) == later + timedelta(
            minutes=90
        )
    # A new time asks again: the earlier yes is cleared, and what was said with it (about the old time).
    assert invitation_of(db_session, meeting, ready.relative).partstat == "NEEDS-ACTION"
    assert invitation_of(db_session, meeting, ready.relative).comment is None
    assert invitation_of(db_session, meeting, ready.relative).sequence == 1


def test_saving_an_unchanged_meeting_sends_nothing(smtp_app, smtp_server, db_session, ready, book):
    meeting = book()
    smtp_server.clear()
    with unit_of_work(db_session):
        same = services.Booking(meeting.starts_at, meeting.ends_at, meeting.mode, None, None)
        assert not services.change_meeting(db_session, ready.case, meeting, same, now=now_utc())
    assert smtp_server.received == [] and meeting.sequence == 0


def test_cancelling_sends_method_cancel_to_every_invitee(smtp_app, smtp_server, db_session, ready, book):
    meeting = book()
    smtp_server.clear()
    with unit_of_work(db_session):
        services.cancel_meeting(db_session, ready.case, meeting, now=now_utc())
    assert len(smtp_server.received) == 4
    for received in smtp_server.received:
        calendar, event, other = both_parsers(calendar_part(received.message))
        assert str(calendar["METHOD"]) == "CANCEL"
        assert str(event["STATUS"]) == "CANCELLED"
        assert str(event["UID"]) == meeting.uid and int(event["SEQUENCE"]) == 1 == other.sequence
        assert received.message["Subject"].startswith("Inställt")
    with pytest.raises(services.MeetingClosed), unit_of_work(db_session):
        services.cancel_meeting(db_session, ready.case, meeting, now=now_utc())


def test_withdrawing_one_invitation_cancels_for_that_invitee_only(
    smtp_app, smtp_server, db_session, ready, book
):
    meeting = book()
    smtp_server.clear()
    invitation = invitation_of(db_session, meeting, ready.relative)
    nonce = invitation.token_nonce
    with unit_of_work(db_session):
        services.uninvite(db_session, ready.case, meeting, invitation, now=now_utc())
    assert [r.rcpt_tos for r in smtp_server.received] == [("eva.andersson@example.se",)]
    message = smtp_server.received[0].message
    calendar, event, other = both_parsers(calendar_part(message))
    assert str(calendar["METHOD"]) == "CANCEL" and int(event["SEQUENCE"]) == 1
    # The meeting goes on: she is told her invitation is withdrawn, not that the meeting is cancelled.
    assert "STATUS" not in event and other.status is None
    assert [a.uri for a in other.attendees] == ["mailto:eva.andersson@example.se"]
    assert message["Subject"].startswith("Återkallad kallelse: SIP-möte")
    text = message.get_body(("plain",)).get_content()
    assert "Din kallelse till SIP-mötet nedan är återkallad" in text and "inställt" not in text.lower()
    invitation = invitation_of(db_session, meeting, ready.relative)
    assert invitation.removed_at is not None and invitation.token_nonce != nonce
    # The others keep their invitation; inviting her again sends her a fresh one.
    smtp_server.clear()
    with unit_of_work(db_session):
        services.invite(db_session, ready.case, meeting, (ready.relative.id,), now=now_utc())
    assert [r.rcpt_tos for r in smtp_server.received] == [("eva.andersson@example.se",)]
    assert invitation_of(db_session, meeting, ready.relative).removed_at is None


def test_withdrawn_consent_cancels_the_planned_meeting(
    smtp_app, smtp_server, db_session, registry, parties, ready, book
):
    meeting = book()
    smtp_server.clear()
    fire(db_session, registry, parties.region_user, ready.case, "withdraw_consent", reason="Vill inte längre")
    db_session.expire_all()
    assert db_session.get(Meeting, meeting.id).status == "cancelled"
    assert len(smtp_server.received) == 4
    assert all(
        str(both_parsers(calendar_part(r.message))[0]["METHOD"]) == "CANCEL" for r in smtp_server.received
    )


def test_a_kallelse_through_another_system_counts_and_sends_nothing(
    smtp_app, smtp_server, db_session, registry, parties, ready
):
    # Sent through the other system between the SIP's start and its recording here.
    sent = ready.case.requested_at + (now_utc() - ready.case.requested_at) / 2
    log = fire(
        db_session,
        registry,
        parties.region_user,
        ready.case,
        "send_kallelse",
        channel="LINK",
        sent_at=sent,
        meeting_starts_at=next_week_at(9),
        mode="on_site",
    )
    assert log.details["channel"] == "LINK" and log.to_state == "invited"
    deadline = db_session.exec(select(Deadline).where(Deadline.case_id == ready.case.id)).one()
    assert deadline.met_at is not None
    meeting = db_session.get(Meeting, log.details["meeting_id"])
    assert meeting.status == "planned"
    assert not db_session.exec(select(Invitation).where(Invitation.meeting_id == meeting.id)).all()
    assert smtp_server.received == []


@pytest.mark.parametrize(
    ("data", "field"),
    [
        # Times are read when the test runs (on the frozen clock), not when the module is collected.
        (lambda: {"meeting_starts_at": now_utc() - timedelta(hours=1)}, "meeting_starts_at"),
        (lambda: {"meeting_ends_at": next_week_at(9)}, "meeting_ends_at"),  # ends before its 10:00 start
        (lambda: {"meeting_ends_at": next_week_at(10, 5)}, "meeting_ends_at"),  # five minutes
        (lambda: {"mode": "on_site", "location": "  "}, "location"),
        (lambda: {"mode": "carrier pigeon"}, "mode"),
        (lambda: {"invitee_ids": []}, "invitee_ids"),
        (lambda: {"invitee_ids": [999_999]}, "invitee_ids"),
        (lambda: {"meeting_starts_at": None}, "meeting_starts_at"),
    ],
    ids=["past", "end-before-start", "too-short", "no-address", "bad-mode", "nobody", "stranger", "no-time"],
)
def test_a_bad_booking_is_refused_and_changes_nothing(
    smtp_app, smtp_server, db_session, ready, book, data, field
):
    with pytest.raises(InvalidInput) as refused:
        book(**data())
    assert refused.value.field == field
    db_session.rollback()
    db_session.expire_all()
    assert db_session.get(SipCase, ready.case.id).state == "preparing"
    assert not db_session.exec(select(Meeting)).all()
    assert not db_session.exec(select(OutboxMessage)).all()
    assert smtp_server.received == []


def test_the_record_form_refuses_sipflow_as_another_system(db_session, registry, parties, ready):
    with pytest.raises(InvalidInput) as refused:
        fire(db_session, registry, parties.region_user, ready.case, "send_kallelse", channel="sipflow")
    assert refused.value.field == "channel"


def test_a_kallelse_from_another_system_cannot_be_dated_before_the_sip_started(
    db_session, registry, parties, ready
):
    before_start = ready.case.requested_at - timedelta(days=1)
    with pytest.raises(InvalidInput) as refused:
        fire(
            db_session,
            registry,
            parties.region_user,
            ready.case,
            "send_kallelse",
            channel="LINK",
            sent_at=before_start,
        )
    assert refused.value.field == "sent_at"
    db_session.rollback()
    assert db_session.get(SipCase, ready.case.id).state == "preparing"


def test_a_further_meeting_after_the_kallelse_is_booked_without_a_transition(
    smtp_app, smtp_server, db_session, registry, parties, ready, book
):
    from sipflow.meetings.booking import read_booking
    from sipflow.meetings.permissions import booking_permission

    book()
    permission = booking_permission(db_session, registry, ready.case, parties.region_user)
    assert permission is not None and permission.transition is None
    # The municipality takes part but may not send the kallelse: it books nothing.
    assert booking_permission(db_session, registry, ready.case, parties.municipality_user) is None
    starts = next_week_at(15)
    with unit_of_work(db_session):
        booking = read_booking(
            db_session,
            ready.case,
            {
                "meeting_starts_at": starts,
                "meeting_minutes": 60,
                "mode": "mixed",
                "location": "Kommunhuset",
                "invitee_ids": everyone(ready),
            },
            now=now_utc(),
        )
        services.book_meeting(db_session, ready.case, parties.region_user, booking, now=now_utc())
    assert db_session.get(SipCase, ready.case.id).state == "invited"
    assert len(db_session.exec(select(Meeting)).all()) == 2


def test_a_disabled_contact_person_is_not_invited_and_the_unit_is_reached_another_way(
    smtp_app, smtp_server, db_session, ready, book, make_user
):
    # Staff who left (their account disabled by an administrator) got the kallelser of the SIPs their unit
    # still takes part in, though reminders already skipped them.
    from sipflow.admin.users import disable_user
    from sipflow.people.models import User

    contact = db_session.get(User, ready.municipality.contact_user_id)
    address = contact.email
    with unit_of_work(db_session):
        disable_user(db_session, make_user(None, roles="admin"), contact, now=now_utc())
    meeting = book()
    invitation = invitation_of(db_session, meeting, ready.municipality)
    assert (invitation.channel, invitation.email) == ("other", None)
    assert received_by(smtp_server, address) == []
    assert received_by(smtp_server, _contact_address(db_session, ready.region))


def mail_texts(message) -> str:
    """The plain text and HTML parts of an e-mail, decoded."""
    parts = [p for p in message.walk() if p.get_content_type() in ("text/plain", "text/html")]
    assert len(parts) == 2
    return "\n".join(p.get_payload(decode=True).decode() for p in parts)


ANSWER_AGAIN = {
    "sv": "Öppna kallelsen i din kalender, eller använd svarslänken, och svara igen.",
    "en": "Open the invitation in your calendar, or use the answer link, to answer again.",
}
ANSWER_STANDS = {
    "sv": "SIP-mötet nedan har ändrats, men inte tiden: ditt svar gäller och du behöver inte svara igen.",
    "en": "The SIP meeting below has changed, but not its time: your answer stands, and you need not answer",
}
NOT_ANSWERED = {
    "sv": "SIP-mötet nedan har ändrats, men inte tiden. Öppna kallelsen i din kalender, eller använd "
    "svarslänken, och svara.",
    "en": "The SIP meeting below has changed, but not its time. Open the invitation in your calendar, or "
    "use the answer link, to answer.",
}


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_a_change_of_form_or_place_alone_says_the_answer_stands_and_a_new_time_asks_again(
    smtp_app, smtp_server, db_session, ready, book, lang
):
    from sipflow.cases.models import Participant

    with unit_of_work(db_session):
        for participant in (ready.relative, ready.person):
            stored = db_session.get(Participant, participant.id)
            stored.language = lang
            db_session.add(stored)
    meeting = book(mode="on_site", location="Storgatan 1")
    with unit_of_work(db_session):
        services.record_answer(
            db_session,
            meeting,
            invitation_of(db_session, meeting, ready.relative),
            partstat="ACCEPTED",
            answer_mode="on_site",
            comment=None,
            via="link",
            now=now_utc(),
        )
    smtp_server.clear()
    with unit_of_work(db_session):
        mixed = services.Booking(meeting.starts_at, meeting.ends_at, "mixed", "Storgatan 1", "Rum 3")
        assert services.change_meeting(db_session, ready.case, meeting, mixed, now=now_utc())
    # The answers are kept, so the mail asks nobody to answer again.
    assert invitation_of(db_session, meeting, ready.relative).partstat == "ACCEPTED"
    (answered,) = received_by(smtp_server, ready.relative.email)
    text = mail_texts(answered)
    assert text.count(ANSWER_STANDS[lang]) == 2 and ANSWER_AGAIN[lang] not in text
    (unanswered,) = received_by(smtp_server, ready.person.email)
    text = mail_texts(unanswered)
    assert text.count(NOT_ANSWERED[lang]) == 2 and ANSWER_AGAIN[lang] not in text

    # A new time clears every answer: then, and only then, the mail asks to answer again.
    smtp_server.clear()
    later = meeting.starts_at + timedelta(hours=3)
    with unit_of_work(db_session):
        moved = services.Booking(later, later + timedelta(hours=1), "mixed", "Storgatan 1", "Rum 3")
        assert services.change_meeting(db_session, ready.case, meeting, moved, now=now_utc())
    assert invitation_of(db_session, meeting, ready.relative).partstat == "NEEDS-ACTION"
    for address in (ready.relative.email, ready.person.email):
        (mail,) = received_by(smtp_server, address)
        text = mail_texts(mail)
        assert text.count(ANSWER_AGAIN[lang]) == 2 and ANSWER_STANDS[lang] not in text
