"""An administrator takes a unit's shared mailbox away while the reminders of a SIP it takes part in are
being reconciled (the consent's-end job, a step): the reconciliation had read the mailbox before the change
and wrote it back onto the reminder after the administrator's change had moved it. The case page then said
the workflow file's reminder goes to the unit's e-mail address on the SIP, though the unit has none and
nobody gets it. The change holds the case (lock_case) before its reminders move, as every write to the
case's reminders outside a step does: it waits for the reconciliation and then sees the SIP as it left it.
PostgreSQL only: SQLite has one writer at a time, which the reconciliation holds."""

from __future__ import annotations

import threading
import time

import pytest
from remkit import reminders, save_unit_mailbox
from sqlalchemy import event as sa_event
from sqlmodel import Session
from support import waiting_on_a_lock
from test_case_lock import WAIT_SECONDS
from test_unit_mailbox_reminder import _declared_to_the_mailbox

from sipflow.cases.models import SipCase
from sipflow.cases.services import lock_case
from sipflow.clock import now_utc
from sipflow.db import unit_of_work
from sipflow.people.models import Unit
from sipflow.reminders.services import DECLARED, reconcile_case

pytestmark = pytest.mark.postgresql


def _take_the_mailbox_away(app, unit_id: int, outcome: list) -> None:
    """An administrator saves the unit's form with no e-mail address, in a session of its own."""
    try:
        with app.app_context(), Session(app.extensions["sipflow.engine"]) as session:
            save_unit_mailbox(session, unit_id, None)
        outcome.append("saved")
    except Exception as error:  # noqa: BLE001 (the test asserts which)
        outcome.append(error)


def test_a_mailbox_taken_away_during_a_reconciliation_is_not_written_back(
    app, engine, db_session, registry, parties, create_case
):
    workflow, to_unit, _ = _declared_to_the_mailbox(db_session, registry, parties, create_case)
    case_id, unit_id = to_unit.case_id, parties.municipality.id
    outcome: list = []
    change = threading.Thread(target=_take_the_mailbox_away, args=(app, unit_id, outcome))
    here = threading.get_ident()

    def between_the_reads(_conn, _cursor, statement, *_args) -> None:
        # The reconciliation has read the unit's mailbox and now reads the case's reminders: the
        # administrator saves meanwhile, and the reconciliation goes on once the save is done or waits.
        if threading.get_ident() != here or change.is_alive() or outcome:
            return
        if "FROM reminder" not in statement:
            return
        change.start()
        deadline = time.monotonic() + WAIT_SECONDS
        while change.is_alive() and not waiting_on_a_lock(engine):
            assert time.monotonic() < deadline, "the administrator's save neither waited nor finished"
            time.sleep(0.01)

    with Session(engine, expire_on_commit=False) as reconciling:
        with unit_of_work(reconciling):
            case = lock_case(reconciling, reconciling.get(SipCase, case_id))
            sa_event.listen(engine, "before_cursor_execute", between_the_reads)
            try:
                reconcile_case(reconciling, workflow, case, now=now_utc(), families={DECLARED})
            finally:
                sa_event.remove(engine, "before_cursor_execute", between_the_reads)
    change.join(WAIT_SECONDS)
    assert not change.is_alive() and outcome == ["saved"], outcome
    with Session(engine) as session:
        assert session.get(Unit, unit_id).email is None
    (row,) = reminders(engine, id=to_unit.id)
    assert (row.status, row.recipient_address) == ("pending", None)
