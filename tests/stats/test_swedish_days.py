"""Lead times and periods count Swedish calendar days (Europe/Stockholm), not UTC days, all year round."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import literal, select
from webkit import login

from sipflow.cases.models import Deadline, SipCase
from sipflow.clock import STOCKHOLM, to_local
from sipflow.stats.services import indicators, month_of
from sipflow.stats.sql import days_between, swedish_day

# 00:30 in Sweden, the day before in UTC: in winter (CET, +1) and in summer (CEST, +2). The first of a
# month, as a period is whole months: in UTC it is still the month before.
JUST_AFTER_MIDNIGHT = [
    pytest.param(datetime(2026, 12, 1, 0, 30, tzinfo=STOCKHOLM), id="winter"),
    pytest.param(datetime(2026, 6, 1, 0, 30, tzinfo=STOCKHOLM), id="summer"),
]


def table(answer, key):
    return next(t for t in answer["tables"] if t["key"] == key)


def answer_for(world, day: date, **options):
    settings = world.settings()
    settings.threshold = 1
    first, last = month_of(day)
    query = world.query(start=first.isoformat(), end=last.isoformat(), **options)
    return indicators(world.session, query, settings)


@pytest.mark.parametrize("klar", JUST_AFTER_MIDNIGHT)
def test_a_kallelse_the_same_swedish_morning_is_zero_days_after_utskrivningsklar(world, klar):
    """The tester's case: utskrivningsklar 00:30, kallelse at 05:31 the same Swedish day: 0 days, not 1."""
    day = klar.date()
    case = world.case(world.person(), requested=klar.astimezone(UTC))
    case.utskrivningsklar_at = klar.astimezone(UTC)
    kallelse = klar.replace(hour=5, minute=31).astimezone(UTC)
    world.session.add(
        Deadline(case_id=case.id, kind="kallelse", due_at=kallelse + timedelta(days=3), met_at=kallelse)
    )
    world.meeting(case, day)
    lead = table(answer_for(world, day), "lead_times")["total"]
    assert lead["utskrivningsklar_to_kallelse_median"] == 0
    # Requested at 00:30 and met the same Swedish day.
    assert lead["request_to_first_median"] == 0


@pytest.mark.parametrize("held", JUST_AFTER_MIDNIGHT)
def test_a_follow_up_counts_from_the_swedish_day_the_plan_was_made(world, held):
    """A first meeting recorded held at 00:30 Swedish time was held that day: the follow-up a week on is 7."""
    day = held.date()
    case = world.case(world.person(), requested=held.astimezone(UTC) - timedelta(days=30))
    first = world.meeting(case, day)
    first.held_at = held.astimezone(UTC)
    world.meeting(case, day + timedelta(days=7), kind="follow_up")
    world.session.flush()
    lead = table(answer_for(world, day + timedelta(days=7)), "lead_times")["total"]
    assert lead["plan_to_follow_up_median"] == 7


@pytest.mark.parametrize("requested", JUST_AFTER_MIDNIGHT)
def test_a_sip_requested_just_after_swedish_midnight_is_offered_on_that_day(world, requested):
    world.case(world.person(), requested=requested.astimezone(UTC))
    world.session.flush()
    assert table(answer_for(world, requested.date()), "outcomes")["total"]["offered"] == 1
    assert table(answer_for(world, requested.date() - timedelta(days=1)), "outcomes")["total"]["offered"] == 0


def test_a_sip_requested_on_new_years_night_counts_in_the_new_years_first_quarter(world):
    requested = datetime(2027, 1, 1, 0, 30, tzinfo=STOCKHOLM)
    world.case(world.person(), requested=requested.astimezone(UTC))
    world.session.flush()
    settings = world.settings()
    settings.threshold = 1
    query = world.query(start="2026-10-01", end="2027-03-31", by="quarter")
    rows = table(indicators(world.session, query, settings), "outcomes")["rows"]
    assert [(row["quarter"], row["offered"]) for row in rows] == [
        ("2026 K4 (t.o.m. 2026-11-02)", 0),
        ("2027 K1", 1),
    ]


# Instants around both changes of 2026 (29 March, 25 October) and anywhere from 1996 to 2100.
instants = st.one_of(
    st.datetimes(datetime(1996, 1, 1), datetime(2100, 12, 31), timezones=st.just(UTC)),
    *(
        st.integers(-4 * 3600, 4 * 3600).map(lambda seconds, at=at: at + timedelta(seconds=seconds))
        for at in (datetime(2026, 3, 29, 1, tzinfo=UTC), datetime(2026, 10, 25, 1, tzinfo=UTC))
    ),
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(start=instants, end=instants)
def test_days_between_two_instants_are_the_swedish_calendar_days_between_them(db_session, start, end):
    stored = SipCase.__table__.c.requested_at.type
    first, second = literal(start, stored), literal(end, stored)
    day, days = db_session.execute(select(swedish_day(first), days_between(first, second))).one()
    assert date.fromisoformat(str(day)) == to_local(start).date()
    assert days == (to_local(end).date() - to_local(start).date()).days


def test_the_default_period_and_its_file_name_are_the_swedish_year(client, make_user, frozen_clock):
    """00:30 on New Year's Day in Sweden, still New Year's Eve in UTC: "this year" is the Swedish one, in the
    answer and in the export's file name."""
    frozen_clock.set(datetime(2026, 12, 31, 23, 30, tzinfo=UTC))
    make_user(None, "coordinator", "nyar-test")
    login(client, "nyar-test")
    query = client.get("/statistik/indikatorer.json").get_json()["query"]
    assert (query["from"], query["to"]) == ("2027-01-01", "2027-01-31")
    disposition = client.get("/statistik/indikatorer.csv").headers["Content-Disposition"]
    assert "2027-01_2027-01" in disposition
