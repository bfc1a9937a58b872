"""The kallelse as the person and a närstående read it: no sipflow they cannot open, but whom to ask.

Neither has a login: "the details are in sipflow" sent them to a system they cannot use, and the person read
of "the person" planning, not of themselves. Staff keep the line pointing to sipflow and the case page.
"""

from __future__ import annotations

import email
import email.policy

import pytest
from meetingkit import invitation_of
from sqlmodel import select

from sipflow.meetings.messages import booking_organisation
from sipflow.notifications.models import OutboxMessage


def _parts(db_session, meeting, participant) -> tuple[str, str]:
    """The plain text and the HTML of the one kallelse sent to participant."""
    invitation = invitation_of(db_session, meeting, participant)
    (row,) = db_session.exec(select(OutboxMessage).where(OutboxMessage.invitation_id == invitation.id)).all()
    message = email.message_from_string(row.message, policy=email.policy.default)
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    return text, html


@pytest.fixture
def mails(db_session, ready, book):
    meeting = book()
    organisation = booking_organisation(db_session, meeting)
    assert organisation
    return meeting, organisation


def test_the_person_is_spoken_to_and_told_whom_to_ask(db_session, ready, mails):
    meeting, organisation = mails
    asked = (
        "Har du frågor om mötet? Svara på det här e-postmeddelandet, "
        f"så når du {organisation}, som har bokat mötet."
    )
    for part in _parts(db_session, meeting, ready.person):
        assert "Du är kallad till ett SIP-möte om din samordnade individuella plan, där du," in part
        assert asked in part
        assert "i sipflow" not in part and "uppgifter om personen" not in part


def test_a_relative_is_told_whom_to_ask_not_to_look_in_sipflow(db_session, ready, mails):
    meeting, organisation = mails
    for part in _parts(db_session, meeting, ready.relative):
        assert "där personen och hälso- och sjukvården" in part  # the SIP is not theirs
        assert f"så når du {organisation}, som har bokat mötet." in part
        assert "i sipflow" not in part


def test_staff_are_still_pointed_to_sipflow(db_session, ready, mails):
    meeting, _organisation = mails
    text, html = _parts(db_session, meeting, ready.municipality)
    for part in (text, html):
        assert "Det innehåller inga uppgifter om personen; de finns i sipflow" in part
        assert "Har du frågor om mötet?" not in part
