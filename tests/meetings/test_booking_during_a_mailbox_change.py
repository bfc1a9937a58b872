"""A staff member sends the kallelse, inviting a unit at its shared mailbox, while an administrator gives the
unit another mailbox or takes it away (PostgreSQL, real concurrent sessions).

The change moves the invitations to meetings ahead of the SIPs reaching the unit at its mailbox, but it
looked for them before the booking committed: the booking, having read the mailbox before the change, was
not among them, and committed its invitation (and its "meeting tomorrow" reminder, and every later update of
the meeting) to the mailbox the administrator had just removed. The change now also holds every running SIP
the unit takes part in (cases.services.running_cases_of_units) before it moves any: a booking under way is
waited for and then moved with the others, and a booking that comes after waits at its claim and reads the
mailbox as changed.
"""

from __future__ import annotations

import threading
import time

import pytest
import support
from meetingkit import invitation_of
from sqlalchemy import event as sa_event
from sqlmodel import Session, select
from test_unit_mailbox_invitations import _give_mailbox, _no_contact_person

from sipflow.admin import directory
from sipflow.clock import now_utc
from sipflow.db import unit_of_work
from sipflow.notifications.models import OutboxMessage
from sipflow.people.models import Unit

pytestmark = pytest.mark.postgresql

WAIT_SECONDS = 20
NEW_MAILBOX = "samordning.vaxjo@vaxjo.example.se"


def _save_mailbox(app, engine, unit_id: int, mailbox: str | None, outcome: list) -> None:
    """The administrator saves the unit's form with mailbox (None: none), in a session of its own."""
    try:
        with app.app_context(), Session(engine) as session:
            with unit_of_work(session):
                unit = session.get(Unit, unit_id)
                directory.edit_unit(
                    session, None, unit, name=unit.name, kind=unit.kind, is_health_care=unit.is_health_care,
                    email=mailbox, hsa_id=unit.hsa_id, now=now_utc(),
                )  # fmt: skip
        outcome.append("saved")
    except Exception as error:  # noqa: BLE001 (the test asserts which)
        outcome.append(error)


@pytest.mark.parametrize("mailbox", [NEW_MAILBOX, None], ids=["another mailbox", "mailbox taken away"])
def test_a_kallelse_sent_while_the_units_mailbox_changes_goes_where_the_administrator_said(
    app, engine, db_session, parties, ready, book, mailbox
):
    _give_mailbox(db_session, parties)
    old_mailbox = db_session.get(Unit, parties.municipality.id).email
    _no_contact_person(db_session, ready)
    outcome: list = []
    change = threading.Thread(
        target=_save_mailbox, args=(app, engine, parties.municipality.id, mailbox, outcome)
    )
    here = threading.get_ident()

    def invitations_written(_conn, _cursor, statement, *_args) -> None:
        # The booking has read the unit's mailbox and writes its invitations: the administrator saves now.
        if threading.get_ident() != here or change.ident is not None:
            return
        if not statement.startswith("INSERT INTO invitation"):
            return
        change.start()
        deadline = time.monotonic() + WAIT_SECONDS
        while change.is_alive() and not support.waiting_on_a_lock(engine):
            assert time.monotonic() < deadline, "the administrator's save neither waited nor finished"
            time.sleep(0.01)

    sa_event.listen(engine, "before_cursor_execute", invitations_written)
    try:
        meeting = book()
    finally:
        sa_event.remove(engine, "before_cursor_execute", invitations_written)
    change.join(WAIT_SECONDS)
    assert not change.is_alive() and outcome == ["saved"]
    db_session.expire_all()
    invitation = invitation_of(db_session, meeting, ready.municipality)
    assert invitation.email == mailbox
    # The booking committed first, its invitation to the mailbox as it was then; nothing more goes there, as
    # after a change made once the booking is done (test_directory_moves_invitations).
    to_old = db_session.exec(
        select(OutboxMessage.kind).where(OutboxMessage.recipient == old_mailbox).order_by(OutboxMessage.id)
    ).all()
    assert to_old == ["request"]
