"""What staff type goes into a calendar entry only as the meeting's place, and the form says so."""

from __future__ import annotations

from datetime import timedelta

from icalendar import Calendar
from meetingkit import invitation_of
from webkit import login, text_of

from sipflow.clock import now_utc
from sipflow.db import unit_of_work
from sipflow.meetings import services
from sipflow.meetings.booking import Booking

PLACE_HELP = "Skickas med rummet i kallelsen via e-post och i kalenderposten"


def test_the_booking_and_change_forms_say_the_place_is_sent_in_the_calendar_entry(
    client, parties, ready, book
):
    login(client, parties.region_user.username)
    # A kallelse sent through another system records its place too, which a later invitation would carry.
    case_page = text_of(client.get(f"/cases/{ready.case.uid}"))
    assert "Skickas i kallelsen via e-post och i kalenderposten" in case_page
    page = text_of(client.get(f"/cases/{ready.case.uid}/meetings/new"))
    assert PLACE_HELP in page
    assert 'aria-describedby="location-help"' in page
    meeting = book()
    assert PLACE_HELP in text_of(client.get(f"/cases/{ready.case.uid}/meetings/{meeting.id}"))


def test_the_calendar_entry_carries_the_place_typed_and_nothing_else_typed(
    smtp_app, smtp_server, db_session, ready, book
):
    meeting = book(mode="on_site", location="Storgatan 1, Växjö", room="Rum 3")
    # The närstående answers with a comment (a health fact, as people write them): no calendar carries it.
    with unit_of_work(db_session):
        services.record_answer(
            db_session,
            meeting,
            invitation_of(db_session, meeting, ready.relative),
            partstat="ACCEPTED",
            answer_mode=None,
            comment="Kommer med rullstol efter operationen",
            via="link",
            now=now_utc(),
        )
    smtp_server.clear()
    moved = meeting.starts_at + timedelta(hours=1)
    with unit_of_work(db_session):
        services.change_meeting(
            db_session,
            ready.case,
            meeting,
            Booking(moved, moved + timedelta(hours=1), "on_site", "Storgatan 1, Växjö", "Rum 3", ()),
            now=now_utc(),
        )
    assert smtp_server.received
    for mail in smtp_server.received:
        part = next(p for p in mail.message.walk() if p.get_content_type() == "text/calendar")
        (event,) = Calendar.from_ical(part.get_content()).walk("VEVENT")
        assert str(event["LOCATION"]) == "Storgatan 1, Växjö, Rum 3"
        assert str(event["SUMMARY"]) == f"SIP-möte {ready.case.reference}"
        texts = " ".join(str(v) for k, v in event.items() if k != "ATTENDEE") + str(event.get("ATTENDEE"))
        for private in ("rullstol", "operationen", "Andersson", "Eva", "Olle"):
            assert private not in texts
