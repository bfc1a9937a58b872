"""Min kalender holds every meeting its owner is invited to: as a unit's contact person, or at their address.

A booking invites a unit at its own address (Kontaktuppgifter), which may be a staff member's; that staff
member got the invitation e-mail and finds the meeting in their feed too, as long as they may see the SIP.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import support
from icalendar import Calendar
from meetingkit import fire, invitation_of, next_week_at
from sqlmodel import select
from webkit import login

from sipflow.cases.models import Participant
from sipflow.clock import now_utc
from sipflow.db import unit_of_work
from sipflow.meetings import services
from sipflow.meetings.feed import feed_meetings, feed_meetings_query
from sipflow.meetings.models import Invitation, Meeting
from sipflow.retention.models import AnonymisedCase


def feed_uids(db_session, user) -> list[str]:
    db_session.expire_all()
    return [meeting.uid for meeting, _ in feed_meetings(db_session, user, now=now_utc())]


@pytest.fixture
def sara(db_session, make_user, parties, ready):
    """A staff member of the municipality who is not its contact person: the unit is invited at her address
    (typed in other capitals than her account's)."""
    user = make_user(parties.municipality, email="Sara.Lind{n}@Example.se")
    municipality = db_session.get(Participant, ready.municipality.id)
    municipality.email = user.email.upper()
    db_session.add(municipality)
    db_session.commit()
    return user


def test_a_staff_member_invited_at_their_address_finds_the_meeting_in_their_feed(
    client, db_session, book, ready, sara
):
    meeting = book()
    assert invitation_of(db_session, meeting, ready.municipality).email == sara.email.upper()
    assert feed_uids(db_session, sara) == [meeting.uid]
    # Through the feed address itself, as her calendar program reads it.
    login(client, sara.username)
    from test_meeting_pages import feed_path

    path = feed_path(client)
    anonymous = type(client)(client.application, client.application.response_class)
    events = Calendar.from_ical(anonymous.get(path).data).walk("VEVENT")
    assert [str(event["UID"]) for event in events] == [meeting.uid]


def test_the_contact_person_keeps_the_meeting_when_the_unit_is_invited_at_another_address(
    db_session, book, sara, parties
):
    meeting = book()
    assert feed_uids(db_session, parties.municipality_user) == [meeting.uid]


def test_a_withdrawn_invitation_leaves_the_feed_of_the_address_it_was_sent_to(db_session, book, ready, sara):
    meeting = book()
    invitation = invitation_of(db_session, meeting, ready.municipality)
    with unit_of_work(db_session):
        services.uninvite(db_session, ready.case, meeting, invitation, now=now_utc())
    assert feed_uids(db_session, sara) == []


def test_a_cancelled_meeting_stays_in_the_feed_marked_cancelled(db_session, book, ready, sara):
    meeting = book()
    with unit_of_work(db_session):
        services.cancel_meeting(db_session, ready.case, meeting, now=now_utc())
    assert feed_uids(db_session, sara) == [meeting.uid]


def test_an_anonymised_cases_meetings_leave_the_feed(client, db_session, book, ready, sara, parties):
    """Retention ended the case: its meetings (even one still ahead) are no one's work, and show nothing."""
    meeting = book()
    assert feed_uids(db_session, sara) == [meeting.uid]
    db_session.add(AnonymisedCase(case_id=ready.case.id, final_state="cancelled", anonymised_at=now_utc()))
    db_session.commit()
    assert feed_uids(db_session, sara) == []
    assert feed_uids(db_session, parties.municipality_user) == []
    login(client, sara.username)
    from test_meeting_pages import feed_path

    path = feed_path(client)
    anonymous = type(client)(client.application, client.application.response_class)
    assert Calendar.from_ical(anonymous.get(path).data).walk("VEVENT") == []


def test_an_address_never_opens_a_sip_the_user_may_not_see(db_session, registry, book, ready, parties):
    """A närstående invited at a staff member's address of an organisation that does not take part: the
    meeting is not in that staff member's feed; nor in Sara's once the consent is withdrawn."""
    relative = db_session.get(Participant, ready.relative.id)
    relative.email = parties.outsider_user.email
    db_session.add(relative)
    db_session.commit()
    meeting = book()
    assert invitation_of(db_session, meeting, ready.relative).email == parties.outsider_user.email
    assert feed_uids(db_session, parties.outsider_user) == []
    fire(db_session, registry, parties.region_user, ready.case, "withdraw_consent", reason="Återkallat")
    # The municipality's contact person no longer sees the SIP, so neither the meeting.
    assert feed_uids(db_session, parties.municipality_user) == []


def test_the_feed_is_bounded(db_session, registry, book, ready, parties, sara, monkeypatch):
    import sipflow.meetings.feed as feed

    first = book()
    starts_at = next_week_at(14)
    data = {
        "meeting_starts_at": starts_at,
        "meeting_ends_at": starts_at + timedelta(hours=1),
        "mode": "video",
        "invitee_ids": [ready.municipality.id],
    }
    with unit_of_work(db_session):
        services.book(
            db_session,
            registry,
            parties.region_user,
            ready.case,
            data,
            expected_version=ready.case.version,
            now=now_utc(),
        )
    assert len(feed_uids(db_session, sara)) == 2
    monkeypatch.setattr(feed, "FEED_MAX_MEETINGS", 1)
    assert feed_uids(db_session, sara) == [first.uid]


# --- The feed's plan --------------------------------------------------------------------------------------


@pytest.fixture
def analysed(create_case, db_session, engine, parties, now):
    """Cases with meetings inviting every participant, and fresh planner statistics.

    The municipality's user is the contact person of one case's unit and invited at their address to
    another's meetings; the rest are others' meetings, as most of a county's are.
    """
    for number in range(12):
        case = create_case()
        participants = db_session.exec(select(Participant).where(Participant.case_id == case.id)).all()
        for participant in participants:
            if number == 0 and participant.organisation_id == parties.municipality.organisation_id:
                participant.contact_user_id = parties.municipality_user.id
                db_session.add(participant)
        for days in range(-3, 3):
            starts_at = now + timedelta(days=30 * days, hours=number)
            meeting = Meeting(case_id=case.id, mode="video", starts_at=starts_at, ends_at=starts_at)
            db_session.add(meeting)
            db_session.flush()
            db_session.add_all(
                Invitation(
                    meeting_id=meeting.id,
                    participant_id=participant.id,
                    email=parties.municipality_user.email.upper()
                    if number == 1 and participant.kind == "person"
                    else f"invitee{participant.id}@example.se",
                    invited_at=now,
                )
                for participant in participants
            )
    db_session.commit()
    with engine.connect() as connection:
        connection.exec_driver_sql("ANALYZE")
        connection.commit()
    engine.dispose()  # the plans are read on fresh connections, with the statistics


def test_the_feed_reads_the_users_meetings_through_indexes(analysed, db_session, parties, now):
    """Booked by the user, invited as a unit's contact person, invited at their address: one index each, and
    then only those meetings are read, by id; never every meeting, invitation or participant."""
    plan = support.query_plan(db_session, feed_meetings_query(parties.municipality_user, now=now))
    steps = [line.strip() for line in plan.splitlines()]
    # SQLite's "SCAN meeting USING INDEX ix_meeting_starts_at" (every meeting in start order, to spare a
    # sort of the user's few) is as much a full read as "SCAN meeting".
    assert [
        step
        for step in steps
        for table in ("meeting", "invitation", "participant", "sipcase")
        if step.startswith(f"SCAN {table}") or f"Seq Scan on {table}" in step
    ] == [], plan
    for index in (
        "ix_meeting_booked_by_user_id_starts_at",
        "ix_participant_contact_user_id",
        "ix_invitation_email_lower",
    ):
        assert index in plan, plan
