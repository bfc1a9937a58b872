"""A unit taking part with no address of its own on the SIP and no active contact person (a national agency's
office, say) is invited at its shared mailbox (Unit.email), not "called some other way"; a named active
contact person still wins over the mailbox, and a unit with neither is still called some other way."""

from __future__ import annotations

from meetingkit import invitation_of
from sqlmodel import select
from test_invitee_address import calendar_of
from webkit import login, text_of

from sipflow.cases import services as case_services
from sipflow.cases.models import Participant
from sipflow.clock import now_utc
from sipflow.db import unit_of_work
from sipflow.meetings.queries import invitee_choices
from sipflow.notifications.models import OutboxMessage
from sipflow.people.models import Unit, User

MAILBOX = "sip.vaxjo@vaxjo.example.se"


def _mails_to(db_session, address):
    db_session.expire_all()
    rows = select(OutboxMessage).where(OutboxMessage.recipient == address).order_by(OutboxMessage.id)
    return list(db_session.exec(rows).all())


def _give_mailbox(db_session, parties, address=MAILBOX, *, active=True):
    with unit_of_work(db_session):
        unit = db_session.get(Unit, parties.municipality.id)
        unit.email, unit.active = address, active
        db_session.add(unit)


def _no_contact_person(db_session, ready):
    with unit_of_work(db_session):
        participant = db_session.get(Participant, ready.municipality.id)
        participant.contact_user_id = None
        db_session.add(participant)


def test_a_unit_without_a_contact_person_is_invited_at_its_mailbox(db_session, parties, ready, book):
    _give_mailbox(db_session, parties)
    _no_contact_person(db_session, ready)
    meeting = book()
    invitation = invitation_of(db_session, meeting, ready.municipality)
    assert (invitation.channel, invitation.email) == ("email", MAILBOX)
    (request,) = _mails_to(db_session, MAILBOX)
    assert request.kind == "request" and f"mailto:{MAILBOX}" in calendar_of(request)


def test_a_named_active_contact_person_wins_over_the_mailbox(db_session, parties, ready, book):
    _give_mailbox(db_session, parties)
    meeting = book()
    invitation = invitation_of(db_session, meeting, ready.municipality)
    assert (invitation.channel, invitation.email) == ("email", parties.municipality_user.email)
    assert _mails_to(db_session, MAILBOX) == []


def test_a_disabled_contact_person_leaves_the_unit_to_its_mailbox(db_session, parties, ready, book):
    _give_mailbox(db_session, parties)
    with unit_of_work(db_session):
        user = db_session.get(User, parties.municipality_user.id)
        user.active = False
        db_session.add(user)
    meeting = book()
    assert invitation_of(db_session, meeting, ready.municipality).email == MAILBOX


def test_a_unit_with_neither_is_still_called_some_other_way(db_session, parties, ready, book):
    _no_contact_person(db_session, ready)
    meeting = book()
    invitation = invitation_of(db_session, meeting, ready.municipality)
    assert (invitation.channel, invitation.email) == ("other", None)


def test_a_deactivated_units_mailbox_is_no_address(db_session, parties, ready, book):
    _give_mailbox(db_session, parties, active=False)
    _no_contact_person(db_session, ready)
    meeting = book()
    assert invitation_of(db_session, meeting, ready.municipality).channel == "other"


def test_clearing_the_contact_person_moves_the_invitation_to_the_mailbox(
    db_session, registry, parties, ready, book
):
    _give_mailbox(db_session, parties)
    meeting = book()
    db_session.refresh(ready.case)
    with unit_of_work(db_session):
        case_services.set_contact_person(
            db_session, registry, ready.case, parties.municipality_user, ready.municipality.id, None,
            now=now_utc(),
        )  # fmt: skip
    invitation = invitation_of(db_session, meeting, ready.municipality)
    assert (invitation.channel, invitation.email) == ("email", MAILBOX)
    (request,) = _mails_to(db_session, MAILBOX)
    assert request.kind == "request"


def test_the_booking_offers_the_unit_as_reached_by_mail(client, db_session, parties, ready):
    _give_mailbox(db_session, parties)
    _no_contact_person(db_session, ready)
    label = dict(invitee_choices(db_session, ready.case))[ready.municipality.id]
    assert label.startswith("Växjö kommun") and "e-postadress" not in label
    login(client, parties.region_user.username)
    page = text_of(client.get(f"/cases/{ready.case.uid}/meetings/new"))
    assert label in page and "ingen e-postadress" in page  # the brother's, only
    assert page.count("ingen e-postadress") == 1


def test_the_case_page_says_the_unit_is_reached_at_its_mailbox(client, db_session, parties, ready, book):
    _give_mailbox(db_session, parties)
    login(client, parties.region_user.username)
    page = text_of(client.get(f"/cases/{ready.case.uid}"))
    assert MAILBOX not in page  # the contact person is named: the mailbox is not where it goes
    _no_contact_person(db_session, ready)
    book()
    page = text_of(client.get(f"/cases/{ready.case.uid}"))
    assert f"Funktionsbrevlåda: {MAILBOX}" in page
    # Of the meeting's invitees only the brother, who has no address, is called some other way.
    assert page.count("Kallas på annat sätt") == 1
