"""An adult's god man (legal representative) invited to the SIP meeting: their own invitation and calendar
entry with no name in it, their answer link's reads told apart in the person's loggutdrag, and, when a
förvaltare replaces them, their invitation withdrawn by a cancellation to their calendar and their answer
link refused."""

from __future__ import annotations

import email
import email.policy

from meetingkit import everyone, invitation_of
from sqlmodel import select
from test_access_log_reads import anonymous, last_seq, rows_after
from test_answers import link_path

from sipflow.cases import services as cases
from sipflow.clock import now_utc
from sipflow.db import unit_of_work
from sipflow.notifications.models import OutboxMessage
from sipflow.people.models import Person
from sipflow.security import audit
from sipflow.security.extract import extract_rows

GOD_MAN = "goran.godman@example.se"


def _mails_to(db_session, address: str) -> list[OutboxMessage]:
    db_session.expire_all()
    rows = db_session.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    return [row for row in rows if row.recipient == address]


def _calendar(row: OutboxMessage) -> str:
    message = email.message_from_string(row.message, policy=email.policy.default)
    part = next(p for p in message.walk() if p.get_content_type() == "text/calendar")
    return part.get_content()


def test_a_god_man_is_invited_reads_the_meeting_and_is_uninvited_when_replaced(
    app, client, db_session, registry, parties, ready, book
):
    with unit_of_work(db_session):
        god_man = cases.add_private_participant(
            db_session, registry, ready.case, kind="representative", name="Göran Godman",
            relation="god man", email=GOD_MAN, phone=None, now=now_utc(),
        )  # fmt: skip
    meeting = book(invitee_ids=[*everyone(ready), god_man.id])
    invitation = invitation_of(db_session, meeting, god_man)
    [request] = _mails_to(db_session, GOD_MAN)
    person = db_session.get(Person, ready.case.person_id)
    for private in ("Göran", "Godman", person.given_name, person.family_name):
        assert private not in request.subject and private not in _calendar(request)
    assert "METHOD:REQUEST" in _calendar(request)

    path = link_path(app, meeting, invitation)
    start = last_seq(db_session)
    assert anonymous(client).get(path).status_code == 200
    assert [(r.action, r.link_id) for r in rows_after(db_session, start)] == [
        (audit.MEETING_LINK_VIEW_REPRESENTATIVE, invitation.id)
    ]
    assert "En ställföreträdare läste SIP-mötet genom svarslänken i sin kallelse" in {
        row.action for row in extract_rows(db_session, ready.case.person_id)
    }

    # The assignment ends: the god man is taken off the SIP; his calendar entry is cancelled.
    db_session.refresh(ready.case)
    with unit_of_work(db_session):
        cases.remove_participant(
            db_session, registry, ready.case, parties.region_user, god_man.id,
            reason="Godmanskapet har upphört", now=now_utc(), expected_version=ready.case.version,
        )  # fmt: skip
    request, cancel = _mails_to(db_session, GOD_MAN)
    assert "METHOD:CANCEL" in _calendar(cancel)
    assert "Göran" not in cancel.subject and person.family_name not in cancel.subject
    assert anonymous(client).get(path).status_code == 410
