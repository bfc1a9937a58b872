"""A staff member who booked a meeting and was then moved by an administrator to a unit of another
organisation (one that does not see the SIP) no longer answers for it: a cancellation sent after the move
does not ask invitees to reply to them (Reply-To) nor speak for their new organisation (From), and a
person's plain reply to sipflow's address is not forwarded to them. Replies about a SIP may carry health
facts, and the booker can no longer open the case."""

from __future__ import annotations

import email
import email.policy

from sqlmodel import select
from support import move_user

from sipflow.cases.models import SipCase
from sipflow.db import unit_of_work
from sipflow.meetings.forwarding import human_mailbox
from sipflow.meetings.services import cancel_meeting
from sipflow.notifications.models import OutboxMessage
from sipflow.people.models import User


def test_a_booker_moved_to_another_organisation_gets_no_replies_and_the_mail_does_not_speak_for_it(
    app, db_session, registry, parties, ready, book, make_user, now
):
    meeting = book()
    booker = db_session.get(User, parties.region_user.id)
    assert human_mailbox(db_session, meeting) == booker.email
    admin = make_user(None, roles="admin")
    move_user(db_session, registry, admin, booker, parties.outsider.id, now)

    assert human_mailbox(db_session, meeting) is None
    with unit_of_work(db_session):
        cancel_meeting(db_session, db_session.get(SipCase, ready.case.id), meeting, now=now)
    cancels = db_session.exec(select(OutboxMessage).where(OutboxMessage.kind == "cancel")).all()
    assert cancels
    for row in cancels:
        message = email.message_from_string(row.message, policy=email.policy.SMTP)
        assert message["Reply-To"] != booker.email
        assert "Försäkringskassan" not in str(message["From"])
