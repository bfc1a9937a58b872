"""A contact person whose invitation leaves them (moved to another organisation's unit, or disabled) is sent a
CANCEL: the entry their calendar took from the invitation (the SIP's reference, time, place and video room)
goes, as it goes for an organisation whose consent is withdrawn. A former address that is no user's (a
unit's old mailbox, a corrected typo: perhaps a stranger's) still gets nothing more."""

from __future__ import annotations

from email import policy
from email.parser import BytesParser

import support
from meetingkit import invitation_of
from sqlmodel import select
from test_unit_mailbox_invitations import MAILBOX, _give_mailbox

from sipflow.admin import users as admin_users
from sipflow.cases.models import Participant
from sipflow.db import unit_of_work
from sipflow.meetings.services import follow_directory_change
from sipflow.notifications.models import OutboxMessage
from sipflow.people.models import Unit, User


def _mails_to(db_session, address) -> list[OutboxMessage]:
    db_session.expire_all()
    rows = select(OutboxMessage).where(OutboxMessage.recipient == address).order_by(OutboxMessage.id)
    return list(db_session.exec(rows).all())


def _calendar_of(row: OutboxMessage) -> str:
    message = BytesParser(policy=policy.default).parsebytes(row.message.encode())
    (part,) = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
    return part.get_content().replace("\r\n ", "")


def _moved(db_session, registry, parties, admin, now):
    user = db_session.get(User, parties.municipality_user.id)
    support.move_user(db_session, registry, admin, user, parties.outsider.id, now)


def _disabled(db_session, registry, parties, admin, now):
    with unit_of_work(db_session):
        admin_users.disable_user(
            db_session, admin, db_session.get(User, parties.municipality_user.id), now=now
        )


def test_a_contact_person_moved_to_another_organisation_gets_a_cancel(
    db_session, registry, parties, ready, book, make_user, now
):
    _give_mailbox(db_session, parties)
    meeting = book()
    address = parties.municipality_user.email
    assert invitation_of(db_session, meeting, ready.municipality).email == address
    before = len(_mails_to(db_session, address))

    _moved(db_session, registry, parties, make_user(None, roles="admin"), now)

    told = _mails_to(db_session, address)[before:]
    assert [m.kind for m in told] == ["cancel"]
    calendar = _calendar_of(told[0])
    assert "METHOD:CANCEL" in calendar and f"UID:{meeting.uid}" in calendar
    # The unit is invited at its mailbox, with an answer link of its own.
    db_session.expire_all()
    assert invitation_of(db_session, meeting, ready.municipality).email == MAILBOX
    assert [m.kind for m in _mails_to(db_session, MAILBOX)] == ["request"]


def test_a_disabled_contact_person_gets_a_cancel(db_session, registry, parties, ready, book, make_user, now):
    _give_mailbox(db_session, parties)
    meeting = book()
    address = parties.municipality_user.email
    before = len(_mails_to(db_session, address))

    _disabled(db_session, registry, parties, make_user(None, roles="admin"), now)

    assert [m.kind for m in _mails_to(db_session, address)[before:]] == ["cancel"]
    db_session.expire_all()
    assert invitation_of(db_session, meeting, ready.municipality).email == MAILBOX


def test_a_units_former_mailbox_gets_nothing_more(db_session, registry, parties, ready, book, make_user, now):
    # The unit is reached at its mailbox; the administrator saves a new one: the old may be anyone's now.
    _give_mailbox(db_session, parties)
    with unit_of_work(db_session):
        participant = db_session.get(Participant, ready.municipality.id)
        participant.contact_user_id = None
        db_session.add(participant)
    book()
    before = len(_mails_to(db_session, MAILBOX))
    _give_mailbox(db_session, parties, "ny.adress@vaxjo.example.se")
    with unit_of_work(db_session):
        follow_directory_change(db_session, unit_id=parties.municipality.id, now=now)
    assert _mails_to(db_session, MAILBOX)[before:] == []
    assert [m.kind for m in _mails_to(db_session, "ny.adress@vaxjo.example.se")] == ["request"]


def test_a_contact_person_moved_within_the_organisation_keeps_the_entry(
    db_session, registry, parties, ready, book, make_user, now
):
    # Still seeing the SIP (the organisation takes part under the consent), they are told nothing.
    _give_mailbox(db_session, parties)
    book()
    address = parties.municipality_user.email
    before = len(_mails_to(db_session, address))
    with unit_of_work(db_session):
        other = Unit(
            key="unit-vaxjo-annan", organisation_id=parties.municipality.organisation_id, name="Annan enhet"
        )
        db_session.add(other)
    user = db_session.get(User, parties.municipality_user.id)
    support.move_user(db_session, registry, make_user(None, roles="admin"), user, other.id, now)
    assert _mails_to(db_session, address)[before:] == []
