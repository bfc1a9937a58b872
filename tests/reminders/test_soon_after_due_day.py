"""A deadline's "approaching" reminder once its day has come says less than the "falls today" one due then:
a discharge SIP entered on Monday morning for a patient reported utskrivningsklar on Friday afternoon (its
kallelse due that Monday) tells its nurse that the deadline falls today, not that too and that it is
approaching; the case page says the "approaching" one will not be sent."""

from __future__ import annotations

from datetime import datetime

import pytest
import support
from remkit import reminder_mails, reminders, tick
from webkit import login, text_of

from sipflow.clock import local_to_utc, stored_utc
from sipflow.reminders.models import DEADLINE_DUE, DEADLINE_SOON, SENT, SKIP_PASSED, SKIPPED

pytestmark = pytest.mark.usefixtures("frozen_clock")


def test_a_kallelse_entered_on_its_last_day_is_told_as_due_today_only(
    app, engine, client, parties, create_case
):
    # FIXED_NOW is Monday 2 November 2026, 10:00 in Sweden; the notice came on Friday at 16:00.
    case = create_case("sip_discharge", utskrivningsklar_at=local_to_utc(datetime(2026, 10, 30, 16, 0)))
    rows = {r.kind: r for r in reminders(engine, case_id=case.id, topic="kallelse")}
    assert stored_utc(rows[DEADLINE_DUE].due_at) < support.FIXED_NOW
    login(client, parties.region_user.username)
    page = text_of(client.get(f"/cases/{case.uid}"))
    assert page.count("skickas i efterhand") == 1
    tick(app, support.FIXED_NOW)
    rows = {r.kind: r for r in reminders(engine, case_id=case.id, topic="kallelse")}
    assert rows[DEADLINE_DUE].status == SENT
    assert (rows[DEADLINE_SOON].status, rows[DEADLINE_SOON].skip_reason) == (SKIPPED, SKIP_PASSED)


def test_a_kallelse_entered_in_the_night_of_its_last_day_is_told_as_due_today_only(
    app, engine, db_session, registry, parties, make_person, frozen_clock
):
    # The ward's night shift enters the SIP at 02:00 on Monday 2 November 2026 for a patient reported
    # utskrivningsklar on Friday at 16:00: the kallelse is due that Monday. The "approaching" reminder
    # (Sunday 07:00) is not mailed at 02:00 and then "falls today" at 07:00: the deadline's day has come.
    entered = local_to_utc(datetime(2026, 11, 2, 2, 0))
    frozen_clock.set(entered)
    case = support.new_case(
        db_session,
        registry,
        parties.region_user,
        workflow="sip_discharge",
        person=make_person(),
        unit_ids=[parties.municipality.id],
        now=entered,
        utskrivningsklar_at=local_to_utc(datetime(2026, 10, 30, 16, 0)),
    )
    db_session.commit()
    tick(app, entered)
    rows = {r.kind: r for r in reminders(engine, case_id=case.id, topic="kallelse")}
    assert (rows[DEADLINE_SOON].status, rows[DEADLINE_SOON].skip_reason) == (SKIPPED, SKIP_PASSED)
    assert reminder_mails(engine) == []
    morning = local_to_utc(datetime(2026, 11, 2, 7, 0))
    frozen_clock.set(morning)
    tick(app, morning)
    rows = {r.kind: r for r in reminders(engine, case_id=case.id, topic="kallelse")}
    assert rows[DEADLINE_DUE].status == SENT
    today = f"En tidsfrist i en SIP går ut i dag ({case.reference})"
    assert [m.subject for m in reminder_mails(engine)] == [today]
