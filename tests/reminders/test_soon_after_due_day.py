"""A deadline's "approaching" reminder once its day has come says less than the "falls today" one due then:
a discharge SIP entered on Monday morning for a patient reported utskrivningsklar on Friday afternoon (its
kallelse due that Monday) tells its nurse that the deadline falls today, not that too and that it is
approaching; the case page says the "approaching" one will not be sent."""

from __future__ import annotations

from datetime import datetime

import pytest
import support
from remkit import reminders, tick
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
