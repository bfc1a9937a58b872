"""A county's own deadline counted to the wall-clock time of the notice (no `until = "end_of_day"`): a ward's
night shift reports a patient utskrivningsklar at 02:30, so the kallelse falls at 02:30 three days later.
Its "approaching" and "passed" reminders went out at 02:30 too, the deadline's own clock time, mailing the
nurse in the middle of the night; they go on the morning of their day (07:00 Swedish time), as every
reminder about a day does. Only the "falls today" one may come before the morning, so as not to come after
the deadline itself."""

from __future__ import annotations

import tomllib
from datetime import datetime, timedelta

import support
from remkit import SIP_FILE, reminder_mails, reminders
from sqlmodel import Session
from test_no_contact_person import _Registry

from sipflow.cases.models import SipCase
from sipflow.clock import frozen, local_to_utc, stored_utc, to_local
from sipflow.db import unit_of_work
from sipflow.reminders.models import DEADLINE_MISSED, DEADLINE_SOON
from sipflow.reminders.services import DEADLINES, dispatch_due, reconcile_case
from sipflow.workflow.definition import parse_workflow

DISCHARGE_FILE = SIP_FILE.with_name("sip_discharge.toml")


def _to_the_notices_time():
    """The shipped discharge file, its kallelse counted to the notice's wall-clock time (a county's own)."""
    with DISCHARGE_FILE.open("rb") as handle:
        data = tomllib.load(handle)
    del data["deadlines"]["kallelse"]["until"], data["deadlines"]["kallelse"]["extend_to_working_day"]
    return parse_workflow(DISCHARGE_FILE, data)


def _tick(app, engine, workflow, at) -> None:
    with app.app_context(), frozen(at), Session(engine) as session:
        with unit_of_work(session):
            dispatch_due(session, _Registry(workflow), now=at)


def test_a_night_deadlines_reminders_come_in_the_morning(
    app, engine, db_session, registry, parties, make_person, frozen_clock
):
    notice = local_to_utc(datetime(2026, 11, 4, 2, 30))  # Wednesday night; the kallelse falls Saturday 02:30
    entered = notice + timedelta(minutes=5)
    frozen_clock.set(entered)
    case = support.new_case(
        db_session, registry, parties.region_user, workflow="sip_discharge", person=make_person(),
        unit_ids=[parties.municipality.id], now=entered, utskrivningsklar_at=notice,
    )  # fmt: skip
    db_session.commit()
    workflow = _to_the_notices_time()
    with unit_of_work(db_session):
        reconcile_case(
            db_session, workflow, db_session.get(SipCase, case.id), now=entered, families={DEADLINES}
        )
    due = {r.kind: to_local(stored_utc(r.due_at)) for r in reminders(engine, case_id=case.id)}
    assert due[DEADLINE_SOON].replace(tzinfo=None) == datetime(2026, 11, 6, 7, 0)
    assert due[DEADLINE_MISSED].replace(tzinfo=None) == datetime(2026, 11, 8, 7, 0)

    _tick(app, engine, workflow, local_to_utc(datetime(2026, 11, 6, 2, 31)))
    assert reminder_mails(engine) == []
    _tick(app, engine, workflow, local_to_utc(datetime(2026, 11, 6, 7, 1)))
    approaching = f"En tidsfrist i en SIP närmar sig ({case.reference})"
    assert [m.subject for m in reminder_mails(engine)] == [approaching]
