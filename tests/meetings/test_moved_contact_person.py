"""A staff member an administrator moves to another unit is no longer the contact person of the unit they
left: on each SIP still running the unit has none from now (its staff see that and name another), and the
invitations that went to the person's address go to the unit's shared mailbox; the administrator is told.
An ended SIP keeps who it was; a save without a move changes nothing."""

from __future__ import annotations

from meetingkit import fire, invitation_of
from sqlmodel import select
from support import move_user
from test_unit_mailbox_invitations import MAILBOX, _give_mailbox
from webkit import fill, forms_of, login, text_of

from sipflow.cases.models import Participant, SipCase
from sipflow.db import unit_of_work
from sipflow.notifications.models import OutboxMessage
from sipflow.people.models import Unit, User


def _another_unit_of_the_municipality(db_session, parties) -> Unit:
    with unit_of_work(db_session):
        unit = Unit(
            key="unit-ljungby-socialtjanst",
            organisation_id=parties.municipality.organisation_id,
            name="Socialtjänsten Ljungby",
            is_health_care=False,
        )
        db_session.add(unit)
    return unit


def _move(db_session, registry, admin, user_id, unit_id, now):
    move_user(db_session, registry, admin, db_session.get(User, user_id), unit_id, now)


def _contact_of(db_session, participant_id):
    db_session.expire_all()
    return db_session.get(Participant, participant_id).contact_user_id


def test_the_unit_left_has_no_contact_person_and_its_invitations_go_to_its_mailbox(
    db_session, registry, parties, ready, book, make_user, now
):
    _give_mailbox(db_session, parties)
    meeting = book()
    assert _contact_of(db_session, ready.municipality.id) == parties.municipality_user.id
    version = db_session.get(SipCase, ready.case.id).version
    other = _another_unit_of_the_municipality(db_session, parties)

    _move(db_session, registry, make_user(None, roles="admin"), parties.municipality_user.id, other.id, now)

    assert _contact_of(db_session, ready.municipality.id) is None
    # A form of the case page read before the move is told the SIP changed.
    assert db_session.get(SipCase, ready.case.id).version == version + 1
    invitation = invitation_of(db_session, meeting, ready.municipality)
    assert (invitation.channel, invitation.email) == ("email", MAILBOX)
    requests = db_session.exec(
        select(OutboxMessage.recipient).where(
            OutboxMessage.kind == "request", OutboxMessage.recipient == MAILBOX
        )
    ).all()
    assert requests == [MAILBOX]


def test_an_ended_sip_keeps_its_contact_person_and_a_save_without_a_move_changes_nothing(
    db_session, registry, parties, ready, make_user, now
):
    admin = make_user(None, roles="admin")
    user_id, unit_id = parties.municipality_user.id, parties.municipality.id
    _move(db_session, registry, admin, user_id, unit_id, now)  # the same unit: no move
    assert _contact_of(db_session, ready.municipality.id) == user_id

    fire(db_session, registry, parties.region_user, ready.case, "cancel", reason="Personen flyttade")
    _move(
        db_session, registry, admin, user_id, _another_unit_of_the_municipality(db_session, parties).id, now
    )
    assert _contact_of(db_session, ready.municipality.id) == user_id


def test_the_administrator_is_told_the_unit_left_has_no_contact_person_now(
    client, db_session, parties, ready, make_user
):
    other = _another_unit_of_the_municipality(db_session, parties)
    admin = make_user(None, roles="admin")
    assert login(client, admin.username).status_code == 302
    url = f"/admin/users/{parties.municipality_user.id}"
    (pairs,) = [
        p for p in forms_of(text_of(client.get(url))).values() if any(k == "display_name" for k, _v in p)
    ]
    response = client.post(url, data=fill(pairs, unit_id=str(other.id)), follow_redirects=True)
    assert response.status_code == 200
    page = text_of(response)
    assert "Användaren är ändrad." in page
    assert "Hen var kontaktperson för enheten hen lämnade i 1 SIP som pågår" in page
    assert _contact_of(db_session, ready.municipality.id) is None
    # The administrators' change log says it too, beside the move itself.
    log = text_of(client.get("/admin/log"))
    assert "Kontaktperson för enheten i SIP som pågår" in log
    assert "Socialtjänsten Ljungby" in log
