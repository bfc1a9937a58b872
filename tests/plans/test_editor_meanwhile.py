"""The plan editor after something changed beneath it: an effort the scheduler reminded of is removed, the
SIP closed while the plan was being written (what was typed is kept and the reason said)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import support
from plankit import complete_data, save, today
from sqlalchemy import update
from sqlmodel import select
from webkit import fill, forms_of, login, text_of

from sipflow.clock import now_utc
from sipflow.db import unit_of_work
from sipflow.plans.editor import plan_data
from sipflow.plans.models import PlanEffort
from sipflow.plans.services import find_plan
from sipflow.reminders.models import CANCELLED, EFFORT_OVERDUE, SENT, Reminder
from sipflow.reminders.services import scan_efforts

pytestmark = [pytest.mark.usefixtures("frozen_clock"), pytest.mark.db]


def plan_form(client, case) -> tuple[str, list]:
    response = client.get(f"/cases/{case.uid}/plan")
    assert response.status_code == 200
    html = text_of(response)
    return html, forms_of(html)[f"/cases/{case.uid}/plan"]


def overdue_effort(parties, what: str, now) -> dict:
    return {
        "kind": "effort",
        "what": what,
        "organisation_id": parties.region.organisation_id,
        "responsible": "Anna Ek",
        "starts_on": today(now) - timedelta(days=60),
        "ends_on": today(now) - timedelta(days=5),
        "status": "ongoing",
    }


def test_removing_an_effort_the_scheduler_reminded_of_saves_and_settles_its_reminders(
    as_region, db_session, registry, parties, held
):
    now = now_utc()
    data = complete_data(held, parties, now)
    data["efforts"] += [overdue_effort(parties, "Hemtjänst", now), overdue_effort(parties, "Ledsagning", now)]
    save(db_session, held, parties.region_user, data, now)
    # The scheduler's daily scan writes an "effort overdue" reminder for each; one of them went out.
    with unit_of_work(db_session):
        assert scan_efforts(db_session, now=now, final_states=[]) == 2
    reminders = db_session.exec(select(Reminder).where(Reminder.kind == EFFORT_OVERDUE)).all()
    sent, pending = sorted(reminders, key=lambda r: r.id)
    with unit_of_work(db_session):
        db_session.execute(update(Reminder).where(Reminder.id == sent.id).values(status=SENT, sent_at=now))

    html, form = plan_form(as_region, held)
    rows = {value: name.removesuffix("-uid") for name, value in form if name.endswith("-uid")}
    efforts = db_session.exec(
        select(PlanEffort).where(PlanEffort.plan_id == find_plan(db_session, held).id)
    ).all()
    removed = {e.uid: e for e in efforts if e.what in ("Hemtjänst", "Ledsagning")}
    values = {f"{rows[uid]}-remove": "y" for uid in removed}
    response = as_region.post(
        f"/cases/{held.uid}/plan",
        data=fill(form, action="save", needs="Behov skrivna samtidigt", **values),
    )

    assert response.status_code == 303
    db_session.expire_all()
    assert not db_session.exec(select(PlanEffort).where(PlanEffort.uid.in_(list(removed)))).all()
    assert find_plan(db_session, held).needs == "Behov skrivna samtidigt"
    after = {r.id: r for r in db_session.exec(select(Reminder).where(Reminder.kind == EFFORT_OVERDUE))}
    # The one still to send is cancelled; the sent one stays as the record of what went out.
    assert (after[pending.id].status, after[pending.id].effort_id) == (CANCELLED, None)
    assert (after[sent.id].status, after[sent.id].sent_at, after[sent.id].effort_id) == (SENT, now, None)


@pytest.fixture
def established(db_session, registry, parties, held):
    """The held SIP with its plan established: it can be closed."""
    now = now_utc()
    save(db_session, held, parties.region_user, complete_data(held, parties, now), now)
    support.fire(db_session, registry, parties.region_user, held, "establish_plan", now=now)
    return held


def test_saving_the_plan_after_the_sip_was_closed_meanwhile_keeps_what_was_typed(
    as_region, db_session, registry, parties, established
):
    case = established
    _html, form = plan_form(as_region, case)
    typed = fill(
        form,
        action="save",
        needs="Text skriven i flik 1 under lång tid",
        **{"own_goals-1-text": "Det är viktigt för mig att få ett eget boende"},
    )
    # Meanwhile, in another tab or by a colleague, the SIP is closed.
    support.fire(db_session, registry, parties.region_user, case, "close", now=now_utc())
    needs_before = find_plan(db_session, case).needs

    response = as_region.post(f"/cases/{case.uid}/plan", data=typed)

    assert response.status_code == 409
    html = text_of(response)
    assert "SIP:en avslutades medan du arbetade, så planen kan inte längre ändras." in html
    assert "Det du fyllde i" in html  # the "What you entered" card, to copy from
    assert "Text skriven i flik 1 under lång tid" in html
    assert "Det är viktigt för mig att få ett eget boende" in html
    db_session.expire_all()
    assert find_plan(db_session, case).needs == needs_before


def test_establishing_the_plan_after_the_sip_ended_meanwhile_says_why(
    as_region, db_session, registry, parties, held
):
    now = now_utc()
    save(db_session, held, parties.region_user, complete_data(held, parties, now), now)
    html, _form = plan_form(as_region, held)
    establish = forms_of(html)[f"/cases/{held.uid}/plan/establish"]
    # Meanwhile the person withdraws their consent: the SIP ends.
    support.fire(db_session, registry, parties.region_user, held, "withdraw_consent", now=now)
    response = as_region.post(f"/cases/{held.uid}/plan/establish", data=fill(establish))
    assert response.status_code == 409
    assert "SIP:en avslutades medan du arbetade" in text_of(response)


def test_one_who_never_wrote_the_plan_is_still_refused_once_the_sip_is_closed(
    client, db_session, registry, parties, established
):
    case = established
    support.fire(db_session, registry, parties.region_user, case, "close", now=now_utc())
    assert login(client, parties.municipality_user.username).status_code == 302
    html = text_of(client.get(f"/cases/{case.uid}/plan"))
    form = forms_of(html)[f"/cases/{case.uid}/plan"]
    response = client.post(f"/cases/{case.uid}/plan", data=fill(form, action="save", needs="Något"))
    assert response.status_code == 403


def test_an_effort_that_takes_a_removed_efforts_place_is_reminded_of_too(db_session, parties, held):
    now = now_utc()
    data = complete_data(held, parties, now)
    data["efforts"].append(overdue_effort(parties, "Hemtjänst", now))
    plan = save(db_session, held, parties.region_user, data, now)
    with unit_of_work(db_session):
        assert scan_efforts(db_session, now=now, final_states=[]) == 1
    # The late effort, the newest, is removed; a later save adds another as late. SQLite gives the new row
    # the removed one's id: the reminder of the removed effort must not count as the new one's.
    data = plan_data(db_session, held, plan)
    data["efforts"] = [e for e in data["efforts"] if e["what"] != "Hemtjänst"]
    plan = save(db_session, held, parties.region_user, data, now)
    data = plan_data(db_session, held, plan)
    data["efforts"].append(overdue_effort(parties, "Ledsagning", now))
    save(db_session, held, parties.region_user, data, now)
    with unit_of_work(db_session):
        assert scan_efforts(db_session, now=now, final_states=[]) == 1
    reminded = db_session.exec(
        select(PlanEffort.what).join(Reminder, Reminder.effort_id == PlanEffort.id)
    ).all()
    assert reminded == ["Ledsagning"]


def test_an_ended_sips_plan_page_says_it_is_read_only_not_who_writes_it(
    as_region, db_session, registry, parties, established
):
    support.fire(db_session, registry, parties.region_user, established, "close", now=now_utc())
    html, _form = plan_form(as_region, established)
    assert "SIP:en är avslutad: planen kan läsas men inte längre ändras." in html
    assert "skriver den" not in html
