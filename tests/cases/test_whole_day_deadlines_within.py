"""A deadline counted in whole days is shown as its date, so "due within 7 days" (Mina SIP's filter) and
Att göra's two weeks count Swedish days too: a follow-up shown as the date a week from today is within the
week all that day, not only from its last second's time of day onwards."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select
from webkit import login, text_of

from sipflow.cases.models import Deadline
from sipflow.clock import end_of_local_day, to_local
from sipflow.db import unit_of_work

pytestmark = pytest.mark.usefixtures("frozen_clock")


def _due_in_days(db_session, case, now, days):
    day = to_local(now).date() + timedelta(days=days)
    with unit_of_work(db_session):
        for deadline in db_session.exec(select(Deadline).where(Deadline.case_id == case.id)).all():
            deadline.due_at = end_of_local_day(day)
            db_session.add(deadline)
    return day


@pytest.mark.parametrize(
    ("path", "last_day"),
    [("/cases?deadline=week", 7), ("/", 14)],
    ids=["Mina SIP's week", "Att göra's two weeks"],
)
def test_a_deadline_on_the_last_day_is_within_the_list_and_the_next_days_is_not(
    client, db_session, parties, create_case, now, path, last_day
):
    inside, outside = create_case(), create_case()
    _due_in_days(db_session, inside, now, last_day)
    _due_in_days(db_session, outside, now, last_day + 1)
    login(client, parties.region_user.username)
    page = text_of(client.get(path))
    assert inside.reference in page
    assert outside.reference not in page
