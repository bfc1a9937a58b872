"""Establishing from the plan page sends what is typed in the editor with it: it is saved first and is what
the established version holds; a refusal of the save establishes nothing and keeps the typed text."""

from __future__ import annotations

import re

import pytest
from plankit import complete_data, give_huvudansvar, save
from sqlmodel import select
from webkit import fill, forms_of, text_of

from sipflow.cases.models import SipCase
from sipflow.clock import now_utc
from sipflow.plans.models import Plan, PlanVersion
from sipflow.plans.services import find_plan

pytestmark = pytest.mark.usefixtures("frozen_clock")

TYPED = "OSPARAD TEXT: stöd med boende och ekonomi"


def establish_url(case):
    return f"/cases/{case.uid}/plan/establish"


def complete(db_session, parties, held):
    now = now_utc()
    save(db_session, held, parties.region_user, complete_data(held, parties, now), now)
    give_huvudansvar(db_session, held, parties.region_user, parties.region.organisation_id, now)


def establish_form(client, case):
    response = client.get(f"/cases/{case.uid}/plan")
    assert response.status_code == 200
    return forms_of(text_of(response))[establish_url(case)]


def versions(db_session, case):
    db_session.expire_all()
    return db_session.exec(select(PlanVersion).where(PlanVersion.case_id == case.id)).all()


def test_the_establish_button_sends_the_typed_plan_which_is_saved_and_established(
    as_region, db_session, parties, held
):
    complete(db_session, parties, held)
    form = establish_form(as_region, held)
    response = as_region.post(establish_url(held), data=fill(form, needs=TYPED))
    assert response.status_code == 303
    (version,) = versions(db_session, held)
    assert version.content["needs"] == TYPED
    assert find_plan(db_session, db_session.get(SipCase, held.id)).needs == TYPED
    assert db_session.get(SipCase, held.id).state == "plan_established"


def test_a_typed_plan_the_save_refuses_is_not_established_and_every_refusal_is_at_its_field(
    as_region, db_session, parties, held
):
    complete(db_session, parties, held)
    before = db_session.exec(select(Plan.row_version).where(Plan.case_id == held.id)).one()
    form = establish_form(as_region, held)
    typed = {"needs": TYPED, "contacts-0-phone": "ring mig", "own_goals-0-text": "Att få sova\x00 ordentligt"}
    response = as_region.post(establish_url(held), data=fill(form, **typed))
    assert response.status_code == 400
    html = text_of(response)
    assert TYPED in html
    assert re.search(r'id="own_goals-0-text-error"', html)
    assert 'id="contacts-0-phone-error"' in html
    assert versions(db_session, held) == []
    db_session.expire_all()
    assert db_session.get(SipCase, held.id).state == "meeting_held"
    assert db_session.exec(select(Plan.row_version).where(Plan.case_id == held.id)).one() == before


def test_a_typed_plan_on_a_plan_saved_meanwhile_is_a_conflict_that_keeps_the_typed_text(
    as_region, db_session, parties, held
):
    complete(db_session, parties, held)
    form = establish_form(as_region, held)
    now = now_utc()
    save(db_session, held, parties.region_user, complete_data(held, parties, now, needs="Ändrat"), now)
    response = as_region.post(establish_url(held), data=fill(form, needs=TYPED))
    assert response.status_code == 409
    assert TYPED in text_of(response)
    assert versions(db_session, held) == []
    assert find_plan(db_session, db_session.get(SipCase, held.id)).needs == "Ändrat"


def test_the_establish_button_is_the_editor_forms_and_not_its_default(as_region, db_session, parties, held):
    """Enter in a field of the plan saves it: the editor form's first submit button is "Save the plan"."""
    complete(db_session, parties, held)
    html = text_of(as_region.get(f"/cases/{held.uid}/plan"))
    editor = html[html.index('id="plan-form"') :]
    buttons = re.findall(r"<button[^>]*>", editor)
    assert 'value="save"' in buttons[0]
    assert any(f'formaction="{establish_url(held)}"' in b for b in buttons[1:])
    assert not re.search(rf'<form[^>]* action="{establish_url(held)}"', html)
