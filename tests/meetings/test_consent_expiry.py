"""A consent that runs out: the organisation it no longer covers hears nothing more of the meetings ahead.

Its invitations are withdrawn (a CANCEL to its address, its answer link dead), by the scheduler's job just
after midnight and by any change of the meeting before it; the others keep theirs.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from meetingkit import fire, next_week_at, offered_invitees
from sqlmodel import select
from webkit import login, text_of

from sipflow.cases.models import Participant
from sipflow.clock import now_utc, to_local
from sipflow.consent.services import give_consent, withdraw_for_organisation
from sipflow.db import unit_of_work
from sipflow.errors import InvalidInput
from sipflow.meetings import services
from sipflow.meetings.jobs import consent_coverage_job, withdraw_uncovered_invitations
from sipflow.meetings.messages import when_text
from sipflow.meetings.models import HELD, Invitation, Meeting
from sipflow.notifications.models import OutboxMessage

MUNICIPALITY_ADDRESS = "ifo@vaxjo.example.se"


@pytest.fixture
def invited(db_session, registry, parties, create_case):
    """A SIP whose consent covers the region and Växjö kommun until the day after tomorrow, with a video
    meeting in a week that invites both and the person."""
    case = create_case()
    last_day = to_local(now_utc()).date() + timedelta(days=2)
    organisations = [parties.region.organisation_id, parties.municipality.organisation_id]
    fire(
        db_session, registry, parties.region_user, case, "give_consent",
        organisation_ids=organisations, valid_until=last_day,
    )  # fmt: skip
    fire(db_session, registry, parties.region_user, case, "start_preparation")
    rows = db_session.exec(select(Participant).where(Participant.case_id == case.id)).all()
    by_org = {p.organisation_id: p for p in rows if p.kind == "organisation"}
    municipality = by_org[parties.municipality.organisation_id]
    with unit_of_work(db_session):
        municipality.email = MUNICIPALITY_ADDRESS
        db_session.add(municipality)
    person = next(p for p in rows if p.kind == "person")
    starts = next_week_at(10)
    fire(
        db_session, registry, parties.region_user, case, "send_kallelse",
        send_invitations=True, meeting_starts_at=starts, meeting_ends_at=starts + timedelta(hours=1),
        mode="video", invitee_ids=[by_org[parties.region.organisation_id].id, municipality.id, person.id],
    )  # fmt: skip
    meeting = db_session.exec(select(Meeting).where(Meeting.case_id == case.id)).one()
    return case, meeting, municipality


def _active(db_session, meeting) -> set[int]:
    db_session.expire_all()
    rows = db_session.exec(
        select(Invitation.participant_id).where(Invitation.meeting_id == meeting.id, Invitation.active)
    )
    return set(rows.all())


def _mail_to_municipality(db_session) -> list[str]:
    rows = db_session.exec(
        select(OutboxMessage.kind)
        .where(OutboxMessage.recipient == MUNICIPALITY_ADDRESS)
        .order_by(OutboxMessage.id)
    )
    return list(rows.all())


def test_the_job_withdraws_the_invitation_of_an_organisation_whose_consent_ran_out(db_session, invited):
    case, meeting, municipality = invited
    invitees = _active(db_session, meeting)
    assert municipality.id in invitees and len(invitees) == 3
    assert _mail_to_municipality(db_session) == ["request"]
    # The consent's last day: it still covers the municipality, nothing changes.
    last_day = now_utc() + timedelta(days=2)
    assert withdraw_uncovered_invitations(db_session, now=last_day) == 0
    assert _active(db_session, meeting) == invitees
    # The day after: the municipality's invitation goes, with a cancellation to it alone.
    day_after = now_utc() + timedelta(days=3)
    assert withdraw_uncovered_invitations(db_session, now=day_after) == 1
    assert _active(db_session, meeting) == invitees - {municipality.id}
    assert _mail_to_municipality(db_session) == ["request", "cancel"]
    withdrawn = db_session.exec(
        select(Invitation).where(
            Invitation.meeting_id == meeting.id, Invitation.participant_id == municipality.id
        )
    ).one()
    assert (
        withdrawn.removed_at == day_after
        and withdrawn.sequence == db_session.get(Meeting, meeting.id).sequence
    )
    # Once withdrawn, it is not withdrawn again.
    assert withdraw_uncovered_invitations(db_session, now=day_after + timedelta(hours=1)) == 0
    assert _mail_to_municipality(db_session) == ["request", "cancel"]


def test_the_scheduler_runs_it(app, db_session, invited):
    case, meeting, municipality = invited
    assert consent_coverage_job(app, now=now_utc() + timedelta(days=3)) == 1
    assert municipality.id not in _active(db_session, meeting)


def test_a_change_of_the_meeting_after_the_consent_ran_out_goes_to_the_covered_only(db_session, invited):
    case, meeting, municipality = invited
    day_after = now_utc() + timedelta(days=3)
    booked = meeting.starts_at
    later = booked + timedelta(days=1)
    with unit_of_work(db_session):
        services.change_meeting(
            db_session,
            case,
            db_session.get(Meeting, meeting.id),
            services.Booking(later, later + timedelta(hours=1), "video", None, None),
            now=day_after,
        )
    assert municipality.id not in _active(db_session, meeting)
    # The municipality is told its invitation is withdrawn, not sent the new time.
    assert _mail_to_municipality(db_session) == ["request", "cancel"]
    updates = db_session.exec(select(OutboxMessage.recipient).where(OutboxMessage.kind == "update")).all()
    assert updates and MUNICIPALITY_ADDRESS not in updates
    # Its cancellation names the meeting as it knew it, not the new time.
    cancel = db_session.exec(
        select(OutboxMessage).where(
            OutboxMessage.recipient == MUNICIPALITY_ADDRESS, OutboxMessage.kind == "cancel"
        )
    ).one()
    assert when_text(booked) in cancel.subject and when_text(later) not in cancel.subject


def test_a_meeting_already_held_is_left_alone(db_session, invited):
    """Only the meetings ahead are withdrawn from: a meeting whose time has passed keeps its invitations."""
    case, meeting, municipality = invited
    after_the_meeting = meeting.starts_at + timedelta(days=1)
    assert withdraw_uncovered_invitations(db_session, now=after_the_meeting) == 0
    assert municipality.id in _active(db_session, meeting)


def test_inviting_more_does_not_offer_the_organisation_again(
    client, parties, db_session, invited, frozen_clock
):
    """Its withdrawn invitation does not make it one more to invite: the consent no longer covers it."""
    case, meeting, municipality = invited
    day_after = now_utc() + timedelta(days=3)
    assert withdraw_uncovered_invitations(db_session, now=day_after) == 1
    frozen_clock.set(day_after)
    assert login(client, parties.region_user.username).status_code == 302
    response = client.get(f"/cases/{case.uid}/meetings/{meeting.id}")
    assert response.status_code == 200
    assert str(municipality.id) not in offered_invitees(text_of(response))


def test_the_outcome_records_no_attendance_of_the_organisation_withdrawn(
    db_session, registry, parties, invited, frozen_clock
):
    case, meeting, municipality = invited
    assert withdraw_uncovered_invitations(db_session, now=now_utc() + timedelta(days=3)) == 1
    frozen_clock.set(meeting.starts_at + timedelta(hours=1))
    # A further consent covers the region only: the meeting is held, the municipality no longer there.
    with unit_of_work(db_session):
        give_consent(
            db_session,
            case,
            parties.region_user,
            {"given_by": "person", "form": "oral", "organisation_ids": [parties.region.organisation_id]},
            now=now_utc(),
        )
    region = db_session.exec(
        select(Participant).where(
            Participant.case_id == case.id, Participant.organisation_id == parties.region.organisation_id
        )
    ).one()
    outcome = {
        "meeting_id": meeting.id,
        "held_at": meeting.starts_at,
        "attendance": {region.id: "video", municipality.id: "video"},
        "decisions": [],
        "no_change_reason": "Inget ändras",
    }
    with pytest.raises(InvalidInput) as refused:
        fire(db_session, registry, parties.region_user, case, "hold_meeting", **outcome)
    assert refused.value.field == f"attendance-{municipality.id}"
    del outcome["attendance"][municipality.id]
    fire(db_session, registry, parties.region_user, case, "hold_meeting", **outcome)
    db_session.expire_all()
    assert db_session.get(Meeting, meeting.id).status == HELD


def test_a_consent_withdrawn_for_the_organisation_withdraws_its_invitations_at_once(
    db_session, registry, parties, invited
):
    case, meeting, municipality = invited
    with unit_of_work(db_session):
        withdraw_for_organisation(
            db_session,
            registry,
            case,
            parties.region_user,
            {"organisation_id": parties.municipality.organisation_id, "reason": None},
            expected_version=case.version,
            now=now_utc(),
        )
    # In the withdrawal's own unit of work, not at the next midnight: a CANCEL, the others keep theirs.
    invitees = _active(db_session, meeting)
    assert municipality.id not in invitees and len(invitees) == 2
    assert _mail_to_municipality(db_session) == ["request", "cancel"]
