"""The invitation e-mail's MIME structure, its 7-bit serialization and its round trip."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime
from email.header import decode_header, make_header
from email.headerregistry import Address

import pytest
from icalendar import Calendar

from sipflow.meetings.ical import CalendarAttendee, CalendarEvent, cancel_ics, request_ics
from sipflow.meetings.mime import calendar_message
from sipflow.notifications.outbox import sender

NOW = datetime(2027, 1, 15, 12, 0, tzinfo=UTC)
SENDER_NAME = "SIP Malmö stad, Socialtjänsten"
SUBJECT = "Kallelse: SIP-möte SIP-2026-ABC123, 28 mars 2027 kl. 10.00 – välkommen, åäö ÅÄÖ"
TEXT = "Hej!\n\nDu är kallad till ett SIP-möte söndag 28 mars kl. 10.00.\nSvara här: https://sip.example.se/a/xyz\n"
HTML = "<p>Hej!</p><p>Du är kallad till ett SIP-möte <b>söndag 28 mars</b> kl. 10.00.</p>\n"


def make_ics(method: str = "REQUEST") -> bytes:
    event = CalendarEvent(
        uid="3f1c0c7e9d2a4b7f8e6d5c4b3a291807@sipflow",
        sequence=1,
        starts_at=datetime(2027, 3, 28, 8, 0, tzinfo=UTC),
        ends_at=datetime(2027, 3, 28, 9, 0, tzinfo=UTC),
        summary="SIP-möte SIP-2026-ABC123",
        description="Välkommen. " * 40,
        location="Rådhuset, Malmö",
        url=None,
        organizer_email="sip@malmo.se",
        organizer_name=SENDER_NAME,
        attendees=(CalendarAttendee("anna@region.se"),),
    )
    return (request_ics if method == "REQUEST" else cancel_ics)(event, now=NOW)


def make_message(method: str = "REQUEST", **changes):
    values = {
        "sender": Address(display_name=SENDER_NAME, addr_spec="sip@malmo.se"),
        "to": "anna@region.se",
        "subject": SUBJECT,
        "text": TEXT,
        "html": HTML,
        "ics": make_ics(method.upper()),
        "method": method,
    }
    return calendar_message(**(values | changes))


def shape(message) -> list:
    """The content types as a tree, in order."""
    if message.is_multipart():
        return [message.get_content_type(), [shape(part) for part in message.iter_parts()]]
    return message.get_content_type()


@pytest.mark.parametrize("method", ["REQUEST", "CANCEL"])
def test_structure_is_what_google_calendar_sends(method):
    message = make_message(method)
    assert shape(message) == [
        "multipart/mixed",
        [["multipart/alternative", ["text/plain", "text/html", "text/calendar"]], "application/ics"],
    ]
    alternative, attachment = message.iter_parts()
    plain, html, calendar = alternative.iter_parts()
    assert plain.get_content_charset() == html.get_content_charset() == "utf-8"
    assert calendar.get_content_charset() == "utf-8"
    assert calendar.get_param("method") == method
    assert calendar.get_content_disposition() is None  # inline: this is the part with Accept/Decline
    assert attachment.get_content_disposition() == "attachment"
    assert attachment.get_filename() == "invite.ics"
    assert attachment.get_param("name") == "invite.ics"
    for part in (plain, html, calendar, attachment):
        assert part["Content-Transfer-Encoding"] in ("quoted-printable", "base64")
        assert "MIME-Version" not in part
    assert message["MIME-Version"] == "1.0"


def test_headers_and_no_message_id_or_date():
    message = make_message(reply_to="handlaggare@malmo.se")
    assert message["From"].addresses[0].display_name == SENDER_NAME
    assert message["From"].addresses[0].addr_spec == "sip@malmo.se"
    assert message["To"] == "anna@region.se"
    assert message["Reply-To"] == "handlaggare@malmo.se"
    assert message["Subject"] == SUBJECT
    assert "Message-ID" not in message and "Date" not in message  # the outbox sets them
    assert "Reply-To" not in make_message()


def test_serialization_is_ascii_with_rfc2047_headers():
    text = make_message().as_string()
    assert text.isascii()
    assert make_message().as_bytes().isascii()
    assert all(len(line) <= 78 for line in text.split("\r\n"))
    head = text.split("\r\n\r\n", 1)[0]
    unfolded = head.replace("\r\n ", " ")
    from_line = next(line for line in unfolded.split("\r\n") if line.startswith("From: "))
    subject_line = next(line for line in unfolded.split("\r\n") if line.startswith("Subject: "))
    assert "=?utf-8?" in from_line and "<sip@malmo.se>" in from_line
    # The comma sits inside the encoded word (=2C), so it cannot split the name into two addresses.
    assert (
        str(make_header(decode_header(from_line.removeprefix("From: ")))) == f"{SENDER_NAME} <sip@malmo.se>"
    )
    assert str(make_header(decode_header(subject_line.removeprefix("Subject: ")))) == SUBJECT


@pytest.mark.parametrize("method", ["REQUEST", "CANCEL"])
def test_round_trip_gives_back_text_html_and_the_same_ics(method):
    ics = make_ics(method)
    parsed = email.message_from_string(make_message(method).as_string(), policy=email.policy.default)
    assert parsed["Subject"] == SUBJECT
    [sender] = parsed["From"].addresses
    assert (sender.display_name, sender.addr_spec) == (SENDER_NAME, "sip@malmo.se")
    alternative, attachment = parsed.iter_parts()
    plain, html, calendar = alternative.iter_parts()
    # The message is serialized for SMTP, so its text lines end in CRLF.
    assert plain.get_content().replace("\r\n", "\n") == TEXT
    assert html.get_content().replace("\r\n", "\n") == HTML
    assert calendar.get_payload(decode=True) == ics
    assert calendar.get_param("method") == method
    assert attachment.get_content() == ics
    assert attachment.get_filename() == "invite.ics"
    assert Calendar.from_ical(calendar.get_payload(decode=True))["METHOD"] == method


def test_method_must_be_known_and_match_the_calendar():
    calendar = list(make_message(method="request").walk())[-2]  # lower case is accepted
    assert calendar.get_content_type() == "text/calendar" and calendar.get_param("method") == "REQUEST"
    with pytest.raises(ValueError, match="method"):
        make_message(method="PUBLISH")
    with pytest.raises(ValueError, match="METHOD:CANCEL"):
        make_message(method="CANCEL", ics=make_ics("REQUEST"))


def test_header_injection_is_refused():
    with pytest.raises(ValueError):
        make_message(subject="Hej\r\nBcc: someone@example.com")


def test_a_sender_name_with_a_line_break_is_sent_on_one_line(app):
    # A unit name stored before the directory refused line breaks must not fail every booking of its staff.
    with app.app_context():
        message = make_message(sender=sender("Vårdcentralen\r\nTeleborg\t "))
    parsed = email.message_from_bytes(message.as_bytes(), policy=email.policy.default)
    expected = f"{app.config['MAIL_FROM_NAME']}, Vårdcentralen Teleborg"
    assert parsed["From"].addresses[0].display_name == expected
