"""A unit without an e-mail address of its own on the SIP is invited at its contact person's: naming another
contact person moves its invitations to planned meetings not yet begun to the new address (as a corrected
address does); a unit with an address of its own keeps it."""

from __future__ import annotations

from datetime import timedelta

from meetingkit import invitation_of
from sqlmodel import select

from sipflow.cases import services as case_services
from sipflow.clock import now_utc
from sipflow.db import unit_of_work
from sipflow.notifications.models import OutboxMessage


def _mails_to(db_session, address):
    db_session.expire_all()
    return list(db_session.exec(select(OutboxMessage).where(OutboxMessage.recipient == address)).all())


def _name(db_session, registry, ready, actor, contact_user_id):
    db_session.refresh(ready.case)
    with unit_of_work(db_session):
        case_services.set_contact_person(
            db_session, registry, ready.case, actor, ready.municipality.id, contact_user_id, now=now_utc()
        )


def test_a_new_contact_person_gets_the_units_invitations_and_the_old_one_nothing_more(
    db_session, registry, parties, ready, book, make_user
):
    meeting = book()
    invitation = invitation_of(db_session, meeting, ready.municipality)
    assert invitation.email == parties.municipality_user.email
    colleague = make_user(parties.municipality, email="kollega@vaxjo.example.se")
    mailed_before = len(_mails_to(db_session, parties.municipality_user.email))

    _name(db_session, registry, ready, parties.municipality_user, colleague.id)

    invitation = invitation_of(db_session, meeting, ready.municipality)
    assert (invitation.channel, invitation.email) == ("email", "kollega@vaxjo.example.se")
    (request,) = _mails_to(db_session, "kollega@vaxjo.example.se")
    assert request.kind == "request"
    assert len(_mails_to(db_session, parties.municipality_user.email)) == mailed_before


def test_clearing_the_contact_person_makes_the_invitation_one_called_some_other_way(
    db_session, registry, parties, ready, book
):
    meeting = book()
    _name(db_session, registry, ready, parties.municipality_user, None)
    invitation = invitation_of(db_session, meeting, ready.municipality)
    assert (invitation.channel, invitation.email) == ("other", None)


def test_a_unit_with_an_address_of_its_own_keeps_its_invitations_there(
    db_session, registry, parties, ready, book, make_user
):
    with unit_of_work(db_session):
        case_services.set_participant_contact(
            db_session, registry, ready.case, ready.municipality.id, email="enheten@vaxjo.example.se",
            phone=None, now=now_utc(),
        )  # fmt: skip
    meeting = book()
    colleague = make_user(parties.municipality, email="kollega@vaxjo.example.se")
    _name(db_session, registry, ready, parties.municipality_user, colleague.id)
    assert invitation_of(db_session, meeting, ready.municipality).email == "enheten@vaxjo.example.se"
    assert _mails_to(db_session, "kollega@vaxjo.example.se") == []


def test_a_meeting_already_begun_keeps_the_address_it_was_sent_to(
    db_session, registry, parties, ready, book, make_user, frozen_clock
):
    meeting = book()
    colleague = make_user(parties.municipality, email="kollega@vaxjo.example.se")
    frozen_clock.advance(timedelta(days=7, minutes=30))
    _name(db_session, registry, ready, parties.municipality_user, colleague.id)
    assert invitation_of(db_session, meeting, ready.municipality).email == parties.municipality_user.email
