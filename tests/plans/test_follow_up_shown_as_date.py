"""A plan's follow-up is a day: its deadline falls due at the end of that day in Sweden, as every deadline
counted in whole days (clock.end_of_local_day), so the case page and Mina SIP show it as its date, as they do
the discharge kallelse, and not as '23:59' beside it."""

from __future__ import annotations

from datetime import timedelta

import pytest
import support
from sqlmodel import select
from webkit import login, text_of

from sipflow.cases.models import Deadline
from sipflow.clock import end_of_local_day, stored_utc, to_local

pytestmark = pytest.mark.usefixtures("frozen_clock")


def test_a_discharge_sips_follow_up_is_shown_as_its_date(
    client, db_session, registry, parties, create_case, now
):
    case = create_case("sip_discharge", utskrivningsklar_at=now - timedelta(days=1))
    for trigger in ("give_consent", "start_preparation", "send_kallelse", "hold_meeting", "establish_plan"):
        support.fire(db_session, registry, parties.region_user, case, trigger, now=now)
    db_session.expire_all()
    follow_up = db_session.exec(
        select(Deadline).where(Deadline.case_id == case.id, Deadline.kind == "follow_up")
    ).one()
    day = to_local(stored_utc(follow_up.due_at)).date()
    assert stored_utc(follow_up.due_at) == end_of_local_day(day)
    login(client, parties.region_user.username)
    for path in (f"/cases/{case.uid}", "/cases"):
        page = text_of(client.get(path))
        assert day.isoformat() in page, path
        assert f"{day.isoformat()} 23:59" not in page, path
