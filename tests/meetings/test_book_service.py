"""meetings.services.book: the service, not the page, decides between the kallelse and a further meeting."""

from __future__ import annotations

import email
import email.policy
from datetime import timedelta

import pytest
from meetingkit import everyone, next_week_at
from sqlmodel import select

from sipflow.cases.errors import PartyNotAllowed, StaleCase
from sipflow.clock import now_utc
from sipflow.db import unit_of_work
from sipflow.meetings import services
from sipflow.meetings.models import Meeting
from sipflow.notifications.models import OutboxMessage
from sipflow.people.models import Organisation, Unit


def _booking(ready, hour: int) -> dict:
    starts_at = next_week_at(hour)
    return {
        "meeting_starts_at": starts_at,
        "meeting_ends_at": starts_at + timedelta(hours=1),
        "mode": "video",
        "invitee_ids": everyone(ready),
    }


def test_book_sends_the_kallelse_first_and_books_a_further_meeting_after(
    db_session, registry, parties, ready
):
    """From preparing, booking is the kallelse step; once it is sent, a booking only adds a meeting."""
    case = ready.case
    with unit_of_work(db_session):
        first = services.book(
            db_session,
            registry,
            parties.region_user,
            case,
            _booking(ready, 10),
            expected_version=case.version,
            now=now_utc(),
        )
    assert case.state == "invited"
    state, version = case.state, case.version
    with unit_of_work(db_session):
        second = services.book(
            db_session,
            registry,
            parties.region_user,
            case,
            _booking(ready, 14),
            expected_version=case.version,
            now=now_utc(),
        )
    assert second != first
    assert db_session.get(Meeting, second).status == "planned"
    # The case's version rises as a step's does: a form read before this booking is stale.
    assert (case.state, case.version) == (state, version + 1)


def test_a_further_meeting_booked_twice_from_one_version_is_booked_once(
    db_session, registry, parties, ready, book
):
    """Two bookings read at the same version of the case (the page posted twice): the second is refused."""
    book()
    case = ready.case
    version = case.version
    with unit_of_work(db_session):
        services.book(
            db_session,
            registry,
            parties.region_user,
            case,
            _booking(ready, 14),
            expected_version=version,
            now=now_utc(),
        )
    with pytest.raises(StaleCase), unit_of_work(db_session):
        services.book(
            db_session,
            registry,
            parties.region_user,
            case,
            _booking(ready, 14),
            expected_version=version,
            now=now_utc(),
        )
    assert len(db_session.exec(select(Meeting).where(Meeting.case_id == case.id)).all()) == 2


def test_book_refuses_a_stale_version_and_a_party_without_the_kallelse(db_session, registry, parties, ready):
    """A booking read before the case changed is a conflict; an outsider's party books nothing."""
    case = ready.case
    with pytest.raises(StaleCase), unit_of_work(db_session):
        services.book(
            db_session,
            registry,
            parties.region_user,
            case,
            _booking(ready, 10),
            expected_version=case.version - 1,
            now=now_utc(),
        )
    with pytest.raises(PartyNotAllowed), unit_of_work(db_session):
        services.book(
            db_session,
            registry,
            parties.outsider_user,
            case,
            _booking(ready, 10),
            expected_version=case.version,
            now=now_utc(),
        )
    db_session.refresh(case)
    assert case.state == "preparing"
    assert db_session.exec(select(Meeting)).all() == []


def _booked_mails(db_session, registry, parties, ready) -> list:
    """The region's user books the meeting at 10: each queued e-mail, parsed."""
    case = ready.case
    with unit_of_work(db_session):
        services.book(
            db_session,
            registry,
            parties.region_user,
            case,
            _booking(ready, 10),
            expected_version=case.version,
            now=now_utc(),
        )
    sent = db_session.exec(select(OutboxMessage)).all()
    assert sent
    return [email.message_from_string(row.message, policy=email.policy.default) for row in sent]


def test_a_booking_by_staff_of_an_organisation_whose_stored_name_has_a_line_break_is_sent(
    db_session, registry, parties, ready
):
    """An organisation name stored before the directory refused line breaks is the From of its staff's
    invitations."""
    unit = db_session.get(Unit, parties.region_user.unit_id)
    organisation = db_session.get(Organisation, unit.organisation_id)
    organisation.name = "Region\r\nKronoberg"
    with unit_of_work(db_session):
        db_session.add(organisation)
    for parsed in _booked_mails(db_session, registry, parties, ready):
        assert parsed["From"].addresses[0].display_name.endswith(", Region Kronoberg")


def test_calendar_entries_and_senders_name_organisations_not_units(db_session, registry, parties, ready):
    """A unit's name can say what the person is treated for; a calendar entry is shared and synced, so its
    organizer and staff attendees, and the sender, are named by their organisation."""
    for participant_unit in (parties.region, parties.municipality):
        participant_unit.name = f"{participant_unit.name} (psykos)"
        db_session.add(participant_unit)
    db_session.commit()
    for parsed in _booked_mails(db_session, registry, parties, ready):
        calendar = next(part for part in parsed.walk() if part.get_content_type() == "text/calendar")
        ics = calendar.get_content()
        assert "psykos" not in ics and "psykos" not in str(parsed["From"])
        assert "Region Kronoberg" in ics
