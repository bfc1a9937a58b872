"""Att göra's unanswered invitations lead to the meeting, where an answer given by phone or letter is kept.

The row linked to the case page, which shows the answers but has no form to record one: the handler who
had called the person to ask had one more page to find.
"""

from __future__ import annotations

import re
from datetime import timedelta
from email.message import EmailMessage

import pytest
import support
from sqlmodel import select
from webkit import forms_of, login, text_of

from sipflow.cases.models import Deadline, Participant
from sipflow.meetings.models import PLANNED, Invitation, Meeting
from sipflow.notifications.models import OutboxMessage
from sipflow.notifications.outbox import enqueue

pytestmark = pytest.mark.usefixtures("frozen_clock")


def _booked_a_week_ahead(db_session, registry, parties, create_case, now):
    """A SIP whose meeting a week ahead the region booked, inviting every participant: the case."""
    case = create_case()
    for trigger in ("give_consent", "start_preparation"):
        support.fire(db_session, registry, parties.region_user, case, trigger, now=now)
    invitees = db_session.exec(select(Participant.id).where(Participant.case_id == case.id)).all()
    starts_at = now + timedelta(days=7)
    booking = {
        "send_invitations": True,
        "meeting_starts_at": starts_at,
        "meeting_ends_at": starts_at + timedelta(hours=1),
        "mode": "video",
        "invitee_ids": list(invitees),
    }
    support.fire(db_session, registry, parties.region_user, case, "send_kallelse", now=now, data=booking)
    return case


def test_an_unanswered_invitation_links_to_its_meeting_page_with_the_answer_forms(
    client, db_session, registry, parties, create_case, now
):
    case = _booked_a_week_ahead(db_session, registry, parties, create_case, now)
    for deadline in db_session.exec(select(Deadline).where(Deadline.case_id == case.id)).all():
        deadline.met_at = deadline.met_at or now
        db_session.add(deadline)
    db_session.commit()
    planned = select(Meeting).where(Meeting.case_id == case.id, Meeting.status == PLANNED)
    meeting = db_session.exec(planned).one()
    assert login(client, parties.region_user.username).status_code == 302

    page = text_of(client.get("/"))
    section = re.search(r'<section class="card todo-section" id="todo-invitations".*?</section>', page, re.S)
    assert section and case.reference in section.group(0)
    meeting_page = f"/cases/{case.uid}/meetings/{meeting.id}"
    assert f'href="{meeting_page}"' in section.group(0)
    assert f'href="/cases/{case.uid}"' not in section.group(0)

    answers = [action for action in forms_of(text_of(client.get(meeting_page))) if action.endswith("/answer")]
    assert answers, "the meeting page records the answers given another way"
    # The section's own page links the same way.
    more = text_of(client.get("/todo/invitations"))
    assert f'href="{meeting_page}"' in more


def test_the_booker_is_told_at_att_gora_that_an_invitation_could_not_be_delivered(
    client, db_session, registry, parties, create_case, now
):
    """The relay refused a mistyped address (5xx): the meeting page said "Kunde inte levereras", but the
    booker's Att göra listed the meeting as "5 inbjudna" like any other, so no one looked."""
    case = _booked_a_week_ahead(db_session, registry, parties, create_case, now)
    (refused,) = db_session.exec(select(OutboxMessage).where(OutboxMessage.invitation_id.is_not(None))).all()
    # Another invitee's mail written after it: only the invitation's own later mail makes it not the newest.
    other = db_session.exec(select(Invitation).where(Invitation.id != refused.invitation_id)).first()
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "sip@sipflow.localhost", "x@example.se", "SIP"
    message.set_content("SIP")
    enqueue(db_session, message, kind="update", case_id=case.id, invitation_id=other.id, now=now)
    refused.status, refused.last_error = "failed", "SMTP 550 at RCPT: 5.1.1 User unknown"
    db_session.add(refused)
    db_session.commit()
    assert login(client, parties.region_user.username).status_code == 302

    page = text_of(client.get("/"))
    section = re.search(r'<section class="card todo-section" id="todo-invitations".*?</section>', page, re.S)
    assert section and "1 kallelse kunde inte levereras" in section.group(0)
    assert "kunde inte levereras" in text_of(client.get("/todo/invitations"))
