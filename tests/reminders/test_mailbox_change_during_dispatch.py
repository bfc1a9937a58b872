"""An administrator gives a unit a new shared mailbox while the scheduler's reminder job sends the unit's
reminder on a SIP it takes part in (PostgreSQL, real concurrent sessions).

The change holds the case (cases.services.lock_case) before it moves the case's reminders. That lock was
FOR UPDATE, which also blocks the key-share lock PostgreSQL takes to check a foreign key: the job, holding
the reminder it had claimed, waited for the case to write the reminder's mail (outboxmessage.case_id), while
the change waited for the reminder. PostgreSQL broke the deadlock by failing one of them: the job's tick (a
failed job, the reminder late) or the administrator's save (an error page). The case is now held as a step's
claim holds it, FOR NO KEY UPDATE: no foreign key check waits for it. (The job now also leaves the
reminders of a case another write holds for its next tick, reminders.services.claim_due: the change moves
this one, and it goes to the new mailbox.)

And the change read the unit's pending reminders without holding them: the job could claim and send one
between that read and the change's UPDATE, which then wrote the new mailbox onto a reminder sent to the old
one, so the lists said it went where it never went. The change now holds the reminders it moves (FOR NO KEY
UPDATE): one the job holds is waited for and seen sent, one the change holds is left by the job (SKIP
LOCKED) and goes at the next tick, to the new mailbox.
"""

from __future__ import annotations

import threading
import time

import pytest
from remkit import reminder_mails, reminders, save_unit_mailbox
from sqlalchemy import event as sa_event
from sqlmodel import Session
from support import waiting_on_a_lock
from test_case_lock import WAIT_SECONDS
from test_no_contact_person import _Registry
from test_unit_mailbox_reminder import MAILBOX, NEW_MAILBOX, _declared_to_the_mailbox

from sipflow.clock import frozen
from sipflow.db import unit_of_work
from sipflow.people.models import Unit
from sipflow.reminders.services import dispatch_due

pytestmark = pytest.mark.postgresql


def _tick(app, engine, workflow, at, outcome: list) -> None:
    """The scheduler's reminder job at at, in a session of its own."""
    try:
        with app.app_context(), frozen(at), Session(engine) as session:
            with unit_of_work(session):
                dispatch_due(session, _Registry(workflow), now=at)
        outcome.append("ticked")
    except Exception as error:  # noqa: BLE001 (the test asserts which)
        outcome.append(error)


def _save_during(app, engine, unit_id: int, tick: threading.Thread, at_statement) -> BaseException | None:
    """The administrator saves the unit's form with NEW_MAILBOX; when the save is about to run the statement
    at_statement picks, the job's tick runs until it is done or waits for a lock. The save's error, if any."""
    here = threading.get_ident()

    def interleave(_conn, _cursor, statement, *_args) -> None:
        if threading.get_ident() != here or tick.ident is not None or not at_statement(statement):
            return
        tick.start()
        deadline = time.monotonic() + WAIT_SECONDS
        while tick.is_alive() and not waiting_on_a_lock(engine):
            assert time.monotonic() < deadline, "the job neither waited nor finished"
            time.sleep(0.01)

    sa_event.listen(engine, "before_cursor_execute", interleave)
    try:
        with app.app_context(), Session(engine) as session:
            save_unit_mailbox(session, unit_id, NEW_MAILBOX)
    except Exception as error:  # noqa: BLE001 (the test asserts which)
        return error
    finally:
        sa_event.remove(engine, "before_cursor_execute", interleave)
    return None


def _to_the_unit(engine) -> list[str]:
    """Where the reminder mails to the unit's mailbox went (the case's other reminders go to staff)."""
    return [m.recipient for m in reminder_mails(engine) if m.recipient in (MAILBOX, NEW_MAILBOX)]


def _reads_the_cases_reminders(statement: str) -> bool:
    # The change's read (and hold) of the reminders to the unit, after it took the cases' locks.
    return "FROM reminder" in statement and "FOR NO KEY UPDATE" in statement


def test_the_reminder_job_and_a_mailbox_change_of_the_same_case_do_not_deadlock(
    app, engine, db_session, registry, parties, create_case
):
    workflow, to_unit, at = _declared_to_the_mailbox(db_session, registry, parties, create_case)
    outcome: list = []
    tick = threading.Thread(target=_tick, args=(app, engine, workflow, at, outcome))
    error = _save_during(app, engine, parties.municipality.id, tick, _reads_the_cases_reminders)
    tick.join(WAIT_SECONDS)
    assert not tick.is_alive()
    assert (error, outcome) == (None, ["ticked"])
    with Session(engine) as session:
        assert session.get(Unit, parties.municipality.id).email == NEW_MAILBOX
    # The job left the reminder of the case the change held (reminders.services.claim_due): the change
    # moved it, and the next tick sends it to the new mailbox.
    (row,) = reminders(engine, id=to_unit.id)
    assert (row.status, row.recipient_address) == ("pending", NEW_MAILBOX)
    _tick(app, engine, workflow, at, outcome)
    (row,) = reminders(engine, id=to_unit.id)
    assert (row.status, row.recipient_address) == ("sent", NEW_MAILBOX)
    assert _to_the_unit(engine) == [NEW_MAILBOX]


def test_a_reminder_sent_while_its_mailbox_changes_keeps_the_address_it_went_to(
    app, engine, db_session, registry, parties, create_case
):
    workflow, to_unit, at = _declared_to_the_mailbox(db_session, registry, parties, create_case)
    outcome: list = []
    tick = threading.Thread(target=_tick, args=(app, engine, workflow, at, outcome))
    error = _save_during(
        app,
        engine,
        parties.municipality.id,
        tick,
        lambda statement: statement.startswith("UPDATE reminder SET recipient_address"),
    )
    tick.join(WAIT_SECONDS)
    assert (error, outcome) == (None, ["ticked"])
    # Whichever went first, the next tick leaves every reminder where its mail went.
    _tick(app, engine, workflow, at, outcome)
    (row,) = reminders(engine, id=to_unit.id)
    assert row.status == "sent" and _to_the_unit(engine) == [row.recipient_address]
