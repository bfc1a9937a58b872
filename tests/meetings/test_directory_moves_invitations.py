"""An administrator's change of the directory moves the invitations it reroutes: a unit reached at its contact
person's address (no address of its own on the SIP) goes to the unit's shared mailbox when that person is
disabled, to their new address when it is corrected, and a unit reached at its mailbox to the new mailbox,
as naming another contact person on the case page already did. Meetings begun stay as they were."""

from __future__ import annotations

from datetime import timedelta

import support
from meetingkit import invitation_of
from sqlmodel import select
from test_unit_mailbox_invitations import MAILBOX, _give_mailbox, _no_contact_person
from webkit import csrf_token, login, text_of

from sipflow.admin import directory
from sipflow.admin import users as admin_users
from sipflow.db import unit_of_work
from sipflow.meetings.services import reached_through_query
from sipflow.notifications.models import OutboxMessage
from sipflow.people.models import Unit, User

NEW_MAILBOX = "samordning.vaxjo@vaxjo.example.se"


def _requests_to(db_session, address):
    db_session.expire_all()
    rows = select(OutboxMessage).where(OutboxMessage.recipient == address, OutboxMessage.kind == "request")
    return list(db_session.exec(rows).all())


def _reload_invitation(db_session, meeting, participant):
    db_session.expire_all()
    return invitation_of(db_session, meeting, participant)


def test_disabling_the_contact_person_moves_the_invitation_to_the_units_mailbox(
    db_session, parties, ready, book, make_user, now
):
    _give_mailbox(db_session, parties)
    meeting = book()
    assert invitation_of(db_session, meeting, ready.municipality).email == parties.municipality_user.email
    admin = make_user(None, roles="admin")
    with unit_of_work(db_session):
        user = db_session.get(User, parties.municipality_user.id)
        admin_users.disable_user(db_session, admin, user, now=now)
    invitation = _reload_invitation(db_session, meeting, ready.municipality)
    assert (invitation.channel, invitation.email) == ("email", MAILBOX)
    (request,) = _requests_to(db_session, MAILBOX)
    assert request.case_id == ready.case.id


def test_a_corrected_address_of_the_contact_person_gets_the_invitation(
    db_session, parties, ready, book, make_user, now, registry
):
    meeting = book()
    admin = make_user(None, roles="admin")
    user = db_session.get(User, parties.municipality_user.id)
    with unit_of_work(db_session):
        admin_users.update_user(
            db_session, admin, user, display_name=user.display_name, email="ny.adress@vaxjo.example.se",
            unit_id=user.unit_id, roles=user.roles, coordinator_scope="", now=now, registry=registry,
        )  # fmt: skip
    invitation = _reload_invitation(db_session, meeting, ready.municipality)
    assert invitation.email == "ny.adress@vaxjo.example.se"
    assert len(_requests_to(db_session, "ny.adress@vaxjo.example.se")) == 1


def test_a_new_mailbox_saved_on_the_admin_page_gets_the_invitation_and_the_old_one_nothing_more(
    client, db_session, parties, ready, book, make_user
):
    _give_mailbox(db_session, parties)
    _no_contact_person(db_session, ready)
    meeting = book()
    assert len(_requests_to(db_session, MAILBOX)) == 1
    admin = make_user(None, roles="admin")
    assert login(client, admin.username).status_code == 302
    unit = db_session.get(Unit, parties.municipality.id)
    url = f"/admin/units/{unit.id}/edit"
    form = {"version": str(unit.row_version), "name": unit.name, "kind": unit.kind, "email": NEW_MAILBOX}
    token = csrf_token(text_of(client.get(url)))
    response = client.post(url, data={"csrf_token": token, **form, "hsa_id": unit.hsa_id or ""})
    assert response.status_code == 302
    invitation = _reload_invitation(db_session, meeting, ready.municipality)
    assert (invitation.channel, invitation.email) == ("email", NEW_MAILBOX)
    assert len(_requests_to(db_session, NEW_MAILBOX)) == 1
    assert len(_requests_to(db_session, MAILBOX)) == 1  # the booking's, nothing since


def _deactivate_the_unit(db_session, parties, now):
    with unit_of_work(db_session):
        unit = db_session.get(Unit, parties.municipality.id)
        directory.set_unit_active(db_session, None, unit, False, now=now)


def test_a_deactivated_unit_is_called_another_way(db_session, parties, ready, book, now):
    _give_mailbox(db_session, parties)
    _no_contact_person(db_session, ready)
    meeting = book()
    _deactivate_the_unit(db_session, parties, now)
    invitation = _reload_invitation(db_session, meeting, ready.municipality)
    assert (invitation.channel, invitation.email) == ("other", None)


def test_a_meeting_begun_keeps_its_invitations_as_they_were(db_session, parties, ready, book, now):
    _give_mailbox(db_session, parties)
    _no_contact_person(db_session, ready)
    meeting = book()
    with unit_of_work(db_session):  # the meeting's time came
        meeting.starts_at = now - timedelta(minutes=5)
        db_session.add(meeting)
    _deactivate_the_unit(db_session, parties, now)
    invitation = _reload_invitation(db_session, meeting, ready.municipality)
    assert (invitation.channel, invitation.email) == ("email", MAILBOX)


# sqlite_stat1 of the synthetic million (bench/pages.py) for the tables the walk reads, invitations as a
# county's would be (about three per meeting): SQLite then goes by the planned meetings ahead.
MILLION_STATISTICS = (
    ("participant", None, "4183541"),
    ("participant", "ix_participant_case_id", "4183541 5"),
    ("participant", "ix_participant_case_id_organisation_id", "4183541 5 2"),
    ("participant", "ix_participant_contact_user_id", "4183541 59765"),
    ("participant", "ix_participant_organisation_id", "4183541 63387"),
    ("meeting", "ix_meeting_booked_by_user_id_starts_at", "2173046 724349 4"),
    ("meeting", "ix_meeting_case_id_status_starts_at", "2173046 3 3 1"),
    ("meeting", "ix_meeting_starts_at", "2173046 4"),
    ("meeting", "ix_meeting_status_starts_at_case_id", "2173046 724349 4 1"),
    ("invitation", "ix_invitation_meeting_id", "6519138 3"),
    ("invitation", "ix_invitation_participant_id", "6519138 2"),
    ("invitation", "sqlite_autoindex_invitation_1", "6519138 3 1"),
)


def test_the_walk_of_a_units_sips_goes_by_the_meetings_ahead_at_a_million_cases(db_session, parties, now):
    connection = db_session.connection()
    query = reached_through_query(now=now, unit_id=parties.municipality.id)
    if connection.dialect.name != "sqlite":
        connection.exec_driver_sql("ANALYZE")
        plan = support.query_plan(db_session, query)
        assert "Seq Scan" not in plan, plan
        return
    with support.sqlite_statistics(connection, MILLION_STATISTICS):
        plan = support.query_plan(db_session, query)
    assert "ix_meeting_status_starts_at_case_id (status=? AND starts_at>?)" in plan, plan
    assert "SCAN participant" not in plan and "SCAN invitation" not in plan, plan


def test_the_case_page_says_the_contact_persons_account_is_disabled(
    client, db_session, parties, ready, make_user, now
):
    # Still named (an account may be enabled again), but reached no more: the page says why.
    _give_mailbox(db_session, parties)
    admin = make_user(None, roles="admin")
    with unit_of_work(db_session):
        admin_users.disable_user(
            db_session, admin, db_session.get(User, parties.municipality_user.id), now=now
        )
    assert login(client, parties.region_user.username).status_code == 302
    page = text_of(client.get(f"/cases/{ready.case.uid}"))
    name = parties.municipality_user.display_name
    assert f"{name} (kontot avstängt)" in page
    assert f"Funktionsbrevlåda: {MAILBOX}" in page
