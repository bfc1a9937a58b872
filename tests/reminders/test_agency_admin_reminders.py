"""Försäkringskassan's administrator (of a national organisation: no county) keeps its offices' shared
mailboxes. A region's SIP invited its Kalmar office at the office's mailbox, and the "Möte i morgon"
reminder to it failed (the mailbox's address was mistyped). The reminders list showed an administrator only
the reminders of SIPs an organisation of their region started, so Försäkringskassan's administrator, the
one who can correct the mailbox, never saw the failed reminder to their own office nor could send it again,
while the region's administrator saw it and could not correct the address. The list shows an administrator
the reminders to their region's staff, units and invitees too."""

from __future__ import annotations

from datetime import timedelta

from meetingkit import fire, next_week_at
from sqlmodel import select
from webkit import csrf_token, login

from sipflow.cases.models import Participant
from sipflow.meetings.models import Invitation
from sipflow.reminders.models import FAILED, PENDING, Reminder

MAILBOX = "sip.kalmar@forsakringskassan.example.se"


def test_an_agencys_administrator_sees_and_resends_a_failed_reminder_to_its_office(
    client, db_session, registry, parties, create_case, make_unit, make_user
):
    office = make_unit("other", "Försäkringskassan", county_code=None, unit_name="Kalmar")
    office.email = MAILBOX
    db_session.add(office)
    db_session.commit()
    case = create_case(units=[parties.municipality.id, office.id])
    fire(db_session, registry, parties.region_user, case, "give_consent")
    fire(db_session, registry, parties.region_user, case, "start_preparation")
    participants = db_session.exec(
        select(Participant).where(Participant.case_id == case.id, Participant.kind == "organisation")
    ).all()
    starts_at = next_week_at(10)
    fire(
        db_session, registry, parties.region_user, case, "send_kallelse",
        send_invitations=True, meeting_starts_at=starts_at, meeting_ends_at=starts_at + timedelta(hours=1),
        mode="video", invitee_ids=[p.id for p in participants],
    )  # fmt: skip
    office_participant = next(p for p in participants if p.unit_id == office.id)
    reminder = db_session.exec(
        select(Reminder)
        .join(Invitation, Invitation.id == Reminder.invitation_id)
        .where(Invitation.participant_id == office_participant.id, Reminder.kind == "meeting_tomorrow")
    ).one()
    reminder.status = FAILED
    db_session.add(reminder)
    db_session.commit()

    login(client, make_user(office, roles="admin").username)
    page = client.get("/admin/reminders/", query_string={"status": "failed"}).get_data(as_text=True)
    assert case.reference in page
    token = csrf_token(client.get("/password").get_data(as_text=True))
    client.post(f"/admin/reminders/{reminder.id}/retry", data={"csrf_token": token})
    db_session.expire_all()
    assert db_session.get(Reminder, reminder.id).status == PENDING
