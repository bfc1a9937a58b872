"""A follow-up day on a weekend day or a Swedish holiday is taken only once the user confirms it, as a
meeting's day is (cases.days_off, one rule: clock.day_off); the typed plan stays on the page meanwhile."""

from __future__ import annotations

from datetime import date

import pytest
from plankit import complete_data, save
from webkit import fill, forms_of, login, text_of

from sipflow.cases.days_off import DayOffUnconfirmed
from sipflow.clock import now_utc
from sipflow.plans import editor
from sipflow.plans.services import find_plan

pytestmark = pytest.mark.usefixtures("frozen_clock")

MIDSUMMER_DAY, CHRISTMAS_EVE, SATURDAY, MONDAY = (
    date(2027, 6, 26),
    date(2027, 12, 24),
    date(2027, 3, 6),
    date(2027, 3, 8),
)


def _stored(db_session, held):
    """The stored plan's follow-up day and needs (None, None: nothing saved)."""
    db_session.expire_all()
    plan = find_plan(db_session, held)
    return (plan.follow_up_on, plan.needs) if plan is not None else (None, None)


def _unconfirmed(held, parties, day, **changes):
    """A complete plan with its follow-up on day, confirmed only if changes confirm it."""
    data = complete_data(held, parties, now_utc(), follow_up_on=day, **changes)
    if editor.CONFIRMED_FOLLOW_UP_DAY not in changes:
        del data[editor.CONFIRMED_FOLLOW_UP_DAY]
    return data


def test_a_follow_up_on_a_holiday_is_refused_until_that_day_is_confirmed(db_session, parties, held):
    now = now_utc()
    with pytest.raises(DayOffUnconfirmed) as refused:
        save(db_session, held, parties.region_user, _unconfirmed(held, parties, MIDSUMMER_DAY), now)
    assert refused.value.field == "follow_up_on" and refused.value.day == MIDSUMMER_DAY
    assert _stored(db_session, held) == (None, None)
    # A confirmation of another day confirms nothing; of this one, the day is saved.
    other = _unconfirmed(held, parties, MIDSUMMER_DAY, confirmed_follow_up_day=MONDAY)
    with pytest.raises(DayOffUnconfirmed):
        save(db_session, held, parties.region_user, other, now)
    confirmed = _unconfirmed(held, parties, MIDSUMMER_DAY, confirmed_follow_up_day=MIDSUMMER_DAY)
    assert save(db_session, held, parties.region_user, confirmed, now).follow_up_on == MIDSUMMER_DAY
    # Saved again with the day unchanged, nothing more is asked.
    again = _unconfirmed(held, parties, MIDSUMMER_DAY, needs="Ändrat")
    assert save(db_session, held, parties.region_user, again, now).needs == "Ändrat"


def test_a_working_day_needs_no_confirmation(db_session, parties, held):
    saved = save(db_session, held, parties.region_user, _unconfirmed(held, parties, MONDAY), now_utc())
    assert saved.follow_up_on == MONDAY


def _post(client, held, form=None, **values):
    url = f"/cases/{held.uid}/plan"
    form = form if form is not None else forms_of(text_of(client.get(url)))[url]
    return client.post(url, data=fill(form, action="save", **values))


@pytest.mark.parametrize(
    ("day", "warning"),
    [
        (MIDSUMMER_DAY, "Uppföljningen är på midsommardagen, en helgdag."),
        (CHRISTMAS_EVE, "Uppföljningen är på julafton, en dag då de flesta är lediga."),
        (SATURDAY, "Uppföljningen är på en lördag."),
    ],
)
def test_the_editor_warns_of_the_day_keeps_the_plan_and_saves_it_once_confirmed(
    client, db_session, parties, held, day, warning
):
    assert login(client, parties.region_user.username).status_code == 302
    typed = {"needs": "Behöver stöd i vardagen", "follow_up_on": day.isoformat()}
    warned = _post(client, held, **typed)
    assert warned.status_code == 400
    html = text_of(warned)
    assert 'id="follow_up_on-error"' in html and warning in html
    assert "Behåll datumet ändå" in html and 'name="confirm_day"' in html
    assert "Behöver stöd i vardagen" in html
    assert _stored(db_session, held) == (None, None)

    url = f"/cases/{held.uid}/plan"
    saved = _post(client, held, forms_of(html)[url], confirm_day="y")
    assert saved.status_code == 303, text_of(saved)
    assert _stored(db_session, held) == (day, "Behöver stöd i vardagen")


def test_a_tick_for_one_day_does_not_confirm_another(client, db_session, parties, held):
    assert login(client, parties.region_user.username).status_code == 302
    warned = text_of(_post(client, held, follow_up_on=MIDSUMMER_DAY.isoformat()))
    url = f"/cases/{held.uid}/plan"
    again = _post(client, held, forms_of(warned)[url], confirm_day="y", follow_up_on=SATURDAY.isoformat())
    assert again.status_code == 400
    assert "Uppföljningen är på en lördag." in text_of(again)
    assert _stored(db_session, held) == (None, None)


def test_the_warning_is_in_english_for_an_english_page(client, parties, held):
    assert login(client, parties.region_user.username).status_code == 302
    client.get("/?lang=en")
    html = text_of(_post(client, held, follow_up_on=MIDSUMMER_DAY.isoformat()))
    assert "The follow-up is on Midsummer Day, a public holiday." in html and "Keep the date anyway" in html
