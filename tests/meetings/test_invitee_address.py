"""Whom an invitation is mailed to: the participant's address as it is now, and a shared address kept whole.

A corrected address gets the invitation (and the old one nothing more); a cleared one makes the invitation
one called some other way. Two invitees sharing one address (two guardians, one family address) keep the
meeting in that calendar while either is invited, and a calendar REPLY from it names neither of them.
"""

from __future__ import annotations

import email
import email.policy
from datetime import timedelta

import pytest
from meetingkit import ITIP_SECRET, fire, invitation_of, reply_ics
from sqlmodel import select
from webkit import fill, forms_of, login, text_of

from sipflow.cases import services as case_services
from sipflow.clock import now_utc
from sipflow.db import unit_of_work
from sipflow.meetings import services
from sipflow.meetings.messages import answer_url
from sipflow.notifications.models import OutboxMessage
from sipflow.notifications.outbox import ADDRESS_CHANGED, deliver_due

EVA = "eva.andersson@example.se"
CORRECTED = "eva.andersson@example.com"


def mails_to(db_session, address: str) -> list[OutboxMessage]:
    db_session.expire_all()
    rows = db_session.exec(
        select(OutboxMessage).where(OutboxMessage.recipient == address).order_by(OutboxMessage.id)
    )
    return list(rows.all())


def calendar_of(row: OutboxMessage) -> str:
    """The text/calendar part of an outbox message, its folded lines unfolded."""
    message = email.message_from_string(row.message, policy=email.policy.default)
    (part,) = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
    return part.get_content().replace("\r\n ", "").replace("\n ", "")


def text_part(row: OutboxMessage) -> str:
    message = email.message_from_string(row.message, policy=email.policy.default)
    (part,) = [p for p in message.walk() if p.get_content_type() == "text/plain"]
    return part.get_content()


def set_address(db_session, registry, ready, participant, address: str | None) -> None:
    """Staff set the participant's address on the case page (Kontaktuppgifter), as the view does."""
    with unit_of_work(db_session):
        case_services.set_participant_contact(
            db_session, registry, ready.case, participant.id, email=address, phone=None, now=now_utc(),
            remove_email=address is None,
        )  # fmt: skip


def answer_yes(db_session, meeting, invitation) -> None:
    with unit_of_work(db_session):
        services.record_answer(
            db_session, meeting, invitation, partstat="ACCEPTED", answer_mode="video", comment=None,
            via="link", now=now_utc(),
        )  # fmt: skip


def link_path(app, meeting, invitation) -> str:
    return answer_url(meeting, invitation).removeprefix(app.config["PUBLIC_URL"])


def change_room(db_session, ready, meeting) -> None:
    with unit_of_work(db_session):
        booking = services.Booking(meeting.starts_at, meeting.ends_at, "mixed", "Storgatan 1", "Rum 2")
        assert services.change_meeting(db_session, ready.case, meeting, booking, now=now_utc())


# --- A participant's address changes after the invitation ------------------------------------------------


def test_a_corrected_address_gets_the_invitation_and_the_old_one_nothing_more(
    app, client, db_session, registry, ready, book
):
    meeting = book()
    invitation = invitation_of(db_session, meeting, ready.relative)
    answer_yes(db_session, meeting, invitation)
    old_link = link_path(app, meeting, invitation)
    mailed_before = len(mails_to(db_session, EVA))

    set_address(db_session, registry, ready, ready.relative, CORRECTED)

    invitation = invitation_of(db_session, meeting, ready.relative)
    assert (invitation.channel, invitation.email) == ("email", CORRECTED)
    assert invitation.partstat == "ACCEPTED"  # the answer given stands
    # The new address gets the invitation at the meeting's SEQUENCE as it is, with a link of its own.
    (request,) = mails_to(db_session, CORRECTED)
    assert request.kind == "request"
    ics = calendar_of(request)
    assert "METHOD:REQUEST" in ics and f"UID:{meeting.uid}" in ics
    assert f"SEQUENCE:{meeting.sequence}" in ics and f"mailto:{CORRECTED}" in ics
    assert link_path(app, meeting, invitation) in text_part(request)
    # The link mailed to the old address is dead; the new one works.
    assert client.get(old_link).status_code == 410
    assert client.get(link_path(app, meeting, invitation)).status_code == 200

    change_room(db_session, ready, meeting)
    assert len(mails_to(db_session, EVA)) == mailed_before
    assert [row.kind for row in mails_to(db_session, CORRECTED)] == ["request", "update"]


def test_a_mistyped_address_the_relay_put_off_gets_nothing_once_corrected(
    app, db_session, registry, ready, book
):
    """The relay answered 4xx for a mistyped address, so its invitation waited for another attempt; staff
    corrected the address and the new one got the invitation, but the waiting one still went out to the
    mistyped address (perhaps a stranger's) when the relay took it: it is not sent any more."""
    meeting = book()
    (mistyped,) = mails_to(db_session, EVA)
    # As the relay's 450 at RCPT leaves it: waiting for its next attempt.
    mistyped.status, mistyped.attempts, mistyped.last_error = "pending", 1, "SMTP 450 at RCPT"
    mistyped.sent_at, mistyped.next_attempt_at = None, now_utc() + timedelta(minutes=1)
    db_session.add(mistyped)
    db_session.commit()

    set_address(db_session, registry, ready, ready.relative, CORRECTED)

    deliver_due(app, now=now_utc() + timedelta(days=1))
    (left,) = mails_to(db_session, EVA)
    assert (left.status, left.sent_at, left.last_error) == ("failed", None, ADDRESS_CHANGED)
    assert [row.status for row in mails_to(db_session, CORRECTED)] == ["sent"]
    assert meeting.id == invitation_of(db_session, meeting, ready.relative).meeting_id


def test_the_pages_say_a_mail_the_relay_put_off_is_not_delivered_yet(
    client, db_session, parties, ready, book
):
    """With the relay down or answering 4xx, the pages said "Väntar på att skickas" for hours, as for a
    mail written a second ago: staff could not tell that an invitee had not got the kallelse."""
    meeting = book()
    (put_off,) = mails_to(db_session, EVA)
    put_off.status, put_off.attempts, put_off.sent_at = "pending", 2, None
    put_off.last_error = "connection failed: ConnectionRefusedError"
    db_session.add(put_off)
    db_session.commit()
    login(client, parties.region_user.username)
    said = "Inte levererad än: e-postservern tog inte emot den, nya försök görs automatiskt"
    assert said in text_of(client.get(f"/cases/{ready.case.uid}/meetings/{meeting.id}"))
    assert said in text_of(client.get(f"/cases/{ready.case.uid}"))


def test_a_reply_from_the_corrected_address_is_recorded(
    client, db_session, registry, ready, book, itip_secret
):
    meeting = book()
    set_address(db_session, registry, ready, ready.relative, CORRECTED)
    headers = {"Authorization": f"Bearer {ITIP_SECRET}"}
    body = reply_ics(meeting.uid, CORRECTED, partstat="DECLINED", sequence=meeting.sequence)
    response = client.post("/itip/reply", data=body, content_type="text/calendar", headers=headers)
    assert response.status_code == 202
    assert invitation_of(db_session, meeting, ready.relative).partstat == "DECLINED"


def test_a_cleared_address_makes_the_invitation_one_called_some_other_way(
    db_session, registry, parties, ready, book
):
    meeting = book()
    mailed_before = len(mails_to(db_session, EVA))
    set_address(db_session, registry, ready, ready.relative, None)

    invitation = invitation_of(db_session, meeting, ready.relative)
    assert (invitation.channel, invitation.email) == ("other", None)
    assert invitation.answers_through_staff  # the staff now record what they are told
    # Neither a change nor the cancellation of a withdrawn consent reaches the address any more.
    change_room(db_session, ready, meeting)
    fire(db_session, registry, parties.region_user, ready.case, "withdraw_consent", reason="Återkallat")
    assert len(mails_to(db_session, EVA)) == mailed_before


def test_a_participant_called_some_other_way_given_an_address_gets_the_invitation(
    db_session, registry, ready, book
):
    meeting = book()
    answer = invitation_of(db_session, meeting, ready.relative_without_email)
    assert answer.channel == "other"
    set_address(db_session, registry, ready, ready.relative_without_email, "olle@example.se")

    invitation = invitation_of(db_session, meeting, ready.relative_without_email)
    assert (invitation.channel, invitation.email) == ("email", "olle@example.se")
    (request,) = mails_to(db_session, "olle@example.se")
    assert request.kind == "request" and "METHOD:REQUEST" in calendar_of(request)


def test_a_meeting_already_begun_keeps_the_address_it_was_sent_to(
    db_session, registry, ready, book, frozen_clock
):
    meeting = book()
    frozen_clock.advance(timedelta(days=7, minutes=30))  # the meeting has begun
    set_address(db_session, registry, ready, ready.relative, CORRECTED)
    assert invitation_of(db_session, meeting, ready.relative).email == EVA
    assert mails_to(db_session, CORRECTED) == []


def test_the_same_address_in_other_letters_sends_nothing_again(db_session, registry, ready, book):
    meeting = book()
    before = invitation_of(db_session, meeting, ready.relative).token_nonce
    set_address(db_session, registry, ready, ready.relative, EVA.upper())
    assert invitation_of(db_session, meeting, ready.relative).token_nonce == before
    assert mails_to(db_session, EVA.upper()) == []


# --- Two invitees sharing one address ----------------------------------------------------------------------


@pytest.fixture
def shared(db_session, registry, ready, book):
    """Eva and Olle share one address (in other letters for Olle), both invited to a meeting."""
    set_address(db_session, registry, ready, ready.relative_without_email, EVA.upper())
    return book()


def test_withdrawing_one_of_two_invitees_sharing_an_address_sends_no_cancellation(db_session, ready, shared):
    meeting = shared
    mailed_before = [row.kind for row in mails_to(db_session, EVA)]
    with unit_of_work(db_session):
        told = services.uninvite(
            db_session, ready.case, meeting, invitation_of(db_session, meeting, ready.relative), now=now_utc()
        )
    assert not told
    assert invitation_of(db_session, meeting, ready.relative).removed_at is not None
    # The calendar keeps the meeting for Olle, still invited.
    assert [row.kind for row in mails_to(db_session, EVA)] == mailed_before
    assert invitation_of(db_session, meeting, ready.relative_without_email).active

    # Olle withdrawn too: nobody at the address is invited any more, and the entry is cancelled.
    with unit_of_work(db_session):
        told = services.uninvite(
            db_session,
            ready.case,
            meeting,
            invitation_of(db_session, meeting, ready.relative_without_email),
            now=now_utc(),
        )
    assert told
    (cancel,) = mails_to(db_session, EVA.upper())[1:]
    assert cancel.kind == "cancel" and "METHOD:CANCEL" in calendar_of(cancel)


def test_the_meeting_page_says_no_cancellation_went_to_a_shared_address(
    client, db_session, parties, ready, shared
):
    login(client, parties.region_user.username)
    meeting = shared
    url = f"/cases/{ready.case.uid}/meetings/{meeting.id}"
    action = f"{url}/invitations/{invitation_of(db_session, meeting, ready.relative).id}/withdraw"
    response = client.post(action, data=fill(forms_of(text_of(client.get(url)))[action]))
    assert response.status_code == 303
    page = text_of(client.get(url))
    assert "Ingen avbokning skickas med e-post: en annan kallad har samma adress" in page


def test_a_reply_from_an_address_two_invitees_share_is_recorded_on_neither(
    client, db_session, ready, shared, itip_secret
):
    meeting = shared
    headers = {"Authorization": f"Bearer {ITIP_SECRET}"}
    body = reply_ics(meeting.uid, EVA, partstat="DECLINED", sequence=meeting.sequence)
    unknown = reply_ics(meeting.uid, "not.invited@example.se", partstat="DECLINED", sequence=meeting.sequence)
    response = client.post("/itip/reply", data=body, content_type="text/calendar", headers=headers)
    nobody = client.post("/itip/reply", data=unknown, content_type="text/calendar", headers=headers)
    # Answered exactly as a reply naming nobody invited: the REPLY does not say whose answer it is.
    assert (response.status_code, response.get_data()) == (nobody.status_code, nobody.get_data())
    for participant in (ready.relative, ready.relative_without_email):
        assert invitation_of(db_session, meeting, participant).partstat == "NEEDS-ACTION"

    # Once only one of them is invited at the address, the reply is theirs.
    with unit_of_work(db_session):
        services.uninvite(
            db_session, ready.case, meeting, invitation_of(db_session, meeting, ready.relative), now=now_utc()
        )
    db_session.expire_all()
    body = reply_ics(meeting.uid, EVA, partstat="DECLINED", sequence=meeting.sequence)
    assert (
        client.post("/itip/reply", data=body, content_type="text/calendar", headers=headers).status_code
        == 202
    )
    assert invitation_of(db_session, meeting, ready.relative_without_email).partstat == "DECLINED"
