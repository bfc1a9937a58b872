"""Dates a plan may hold (an effort's within years of the SIP, the follow-up no further ahead than a meeting
may be booked), and a child's own view or why it is missing, not both."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from plankit import complete_data, save, today, walk
from sqlmodel import select
from webkit import fill, forms_of, login, text_of

from sipflow.clock import BOOKING_YEARS_AHEAD, now_utc, years_after
from sipflow.db import unit_of_work
from sipflow.errors import InvalidInput
from sipflow.people.models import Person
from sipflow.plans.editor import EFFORT_YEARS, plan_data
from sipflow.plans.models import PlanEffort
from sipflow.plans.services import find_plan

pytestmark = pytest.mark.usefixtures("frozen_clock")


def _with_effort_dates(data, starts_on, ends_on):
    data["efforts"][0].update(starts_on=starts_on, ends_on=ends_on)
    return data


@pytest.mark.parametrize(
    ("starts_on", "ends_on", "field"),
    [
        (date(1900, 1, 1), None, "efforts-0-starts_on"),
        (None, date(2126, 12, 4), "efforts-0-ends_on"),
        (None, "ELEVEN_YEARS", "efforts-0-ends_on"),
    ],
)
def test_an_effort_date_far_from_the_sip_is_refused_naming_the_window(
    db_session, parties, held, starts_on, ends_on, field
):
    now = now_utc()
    if ends_on == "ELEVEN_YEARS":
        ends_on = years_after(today(now), EFFORT_YEARS + 1)
    data = _with_effort_dates(complete_data(held, parties, now), starts_on, ends_on)
    with pytest.raises(InvalidInput) as refused:
        save(db_session, held, parties.region_user, data, now)
    assert refused.value.field == field
    assert re.search(r"\d{4}-\d\d-\d\d och \d{4}-\d\d-\d\d", str(refused.value.message))


def test_an_effort_may_have_begun_years_before_the_sip_and_run_years_on(db_session, parties, held):
    now = now_utc()
    starts_on = today(now) - timedelta(days=365 * (EFFORT_YEARS - 1))
    ends_on = years_after(today(now), EFFORT_YEARS)
    save(
        db_session,
        held,
        parties.region_user,
        _with_effort_dates(complete_data(held, parties, now), starts_on, ends_on),
        now,
    )
    db_session.expire_all()
    stored = db_session.exec(select(PlanEffort).order_by(PlanEffort.position)).first()
    assert (stored.starts_on, stored.ends_on) == (starts_on, ends_on)


def test_the_follow_up_lies_at_most_as_far_ahead_as_a_meeting_may_be_booked(db_session, parties, held):
    now = now_utc()
    last = years_after(today(now), BOOKING_YEARS_AHEAD)
    for refused_day in (date(2126, 12, 1), last + timedelta(days=1)):
        with pytest.raises(InvalidInput) as refused:
            save(
                db_session,
                held,
                parties.region_user,
                complete_data(held, parties, now, follow_up_on=refused_day),
                now,
            )
        assert refused.value.field == "follow_up_on"
        assert last.isoformat() in str(refused.value.message)
    save(db_session, held, parties.region_user, complete_data(held, parties, now, follow_up_on=last), now)
    assert find_plan(db_session, held).follow_up_on == last


def test_a_date_stored_before_the_bounds_stays_savable(db_session, parties, held):
    # A plan saved before the bounds (or an effort from elsewhere) is not locked by them.
    now = now_utc()
    save(db_session, held, parties.region_user, complete_data(held, parties, now), now)
    plan = find_plan(db_session, held)
    far = date(2126, 12, 1)
    with unit_of_work(db_session):
        plan.follow_up_on = far
        effort = db_session.exec(
            select(PlanEffort).where(PlanEffort.plan_id == plan.id).order_by(PlanEffort.position)
        ).first()
        effort.starts_on = date(1950, 1, 1)
        db_session.add_all([plan, effort])
    data = plan_data(db_session, held, find_plan(db_session, held))
    data["needs"] = "Ändrat"
    saved = save(db_session, held, parties.region_user, data, now)
    assert (saved.needs, saved.follow_up_on) == ("Ändrat", far)


def test_the_page_shows_the_refusal_of_an_effort_date_at_its_field(client, parties, held):
    assert login(client, parties.region_user.username).status_code == 302
    url = f"/cases/{held.uid}/plan"
    form = forms_of(text_of(client.get(url)))[url]
    response = client.post(
        url,
        data=fill(
            form,
            action="save",
            **{
                "efforts-0-what": "Samtalsstöd",
                "efforts-0-organisation_id": parties.region.organisation_id,
                "efforts-0-starts_on": "1900-01-01",
            },
        ),
    )
    assert response.status_code == 400
    error = re.search(r'id="efforts-0-starts_on-error">\s*<li>([^<]+)</li>', text_of(response)).group(1)
    assert error.startswith("Ange ett datum mellan ")


@pytest.fixture
def child_case(db_session, registry, parties, create_case):
    case = create_case("sip_child")
    person = db_session.get(Person, case.person_id)
    person.birth_date = date(today(now_utc()).year - 12, 1, 1)
    db_session.add(person)
    db_session.commit()
    return walk(db_session, registry, parties.region_user, case, now_utc())


def test_a_childs_own_view_and_why_it_is_missing_are_refused_together(db_session, parties, child_case):
    now = now_utc()
    data = complete_data(
        child_case, parties, now, child_view="Vill spela fotboll", child_view_missing_reason="Ville inte"
    )
    with pytest.raises(InvalidInput) as refused:
        save(db_session, child_case, parties.region_user, data, now)
    assert refused.value.field == "child_view_missing_reason"
    for kept in ({"child_view_missing_reason": ""}, {"child_view": ""}):
        save(db_session, child_case, parties.region_user, data | kept, now)


def test_a_reason_beside_a_view_the_case_holds_is_refused(db_session, parties, child_case):
    # The view recorded at the preparation stays on the case: a plan that sends only the reason meets it.
    now = now_utc()
    with unit_of_work(db_session):
        child_case.child_view = "Vill vara med på mötena"
        db_session.add(child_case)
    data = complete_data(child_case, parties, now, child_view_missing_reason="Ville inte")
    del data["child_view"]
    with pytest.raises(InvalidInput) as refused:
        save(db_session, child_case, parties.region_user, data, now)
    assert refused.value.field == "child_view_missing_reason"


def test_the_page_refuses_both_at_the_field_keeping_the_text(client, parties, child_case):
    assert login(client, parties.region_user.username).status_code == 302
    url = f"/cases/{child_case.uid}/plan"
    form = forms_of(text_of(client.get(url)))[url]
    response = client.post(
        url, data=fill(form, action="save", child_view="Vill spela fotboll", child_view_missing_reason="Sov")
    )
    assert response.status_code == 400
    html = text_of(response)
    assert 'id="child_view_missing_reason-error"' in html
    assert "Vill spela fotboll" in html and "Sov" in html


@pytest.mark.parametrize("bad", ["²", "①", "4" * 4400])
def test_a_plan_row_numbered_with_no_number_is_left_out(client, db_session, parties, held, bad):
    """A row's number that str.isdigit() takes and int() refuses: no row (WTForms' own list answered 500)."""
    assert login(client, parties.region_user.username).status_code == 302
    url = f"/cases/{held.uid}/plan"
    form = forms_of(text_of(client.get(url)))[url]
    response = client.post(url, data=fill(form, action="save", **{f"efforts-{bad}-what": "Samtalsstöd"}))
    assert response.status_code == 303
    db_session.expire_all()
    assert db_session.exec(select(PlanEffort).where(PlanEffort.what == "Samtalsstöd")).first() is None
