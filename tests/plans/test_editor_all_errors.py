"""The plan editor refuses every bad field on the first send, each at its field, what was typed kept: the
form's own checks (a text too long) and the service's (the follow-up, an effort's dates and unit, a contact's
e-mail address) together, not one round at a time."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from plankit import complete_data, save, today
from webkit import fill, forms_of, login, text_of

from sipflow.clock import now_utc
from sipflow.errors import InvalidInputs
from sipflow.plans.content import plan_content
from sipflow.plans.editor import MAX_EFFORTS
from sipflow.plans.services import find_plan

pytestmark = pytest.mark.usefixtures("frozen_clock")


def content(db_session, case):
    db_session.expire_all()
    return plan_content(db_session, case, find_plan(db_session, case))


def test_the_service_refuses_every_field_at_once(db_session, parties, held):
    now = now_utc()
    data = complete_data(held, parties, now, follow_up_on=today(now) - timedelta(days=1), needs="x" * 4001)
    data["efforts"][0].update(starts_on=date(2027, 3, 1), ends_on=date(2027, 2, 1))
    data["efforts"][1].update(unit_id=parties.region.id)  # the region's unit on the municipality's effort
    data["efforts"][2].update(actor="")
    data["contacts"][0].update(email="inte en adress", phone="x")
    before = content(db_session, held)
    with pytest.raises(InvalidInputs) as refused:
        save(db_session, held, parties.region_user, data, now)
    assert {error.field for error in refused.value.errors} == {
        "needs",
        "follow_up_on",
        "efforts-0-ends_on",
        "efforts-1-unit_id",
        "efforts-2-actor",
        "contacts-0-email",
        "contacts-0-phone",
    }
    assert content(db_session, held) == before


def test_too_many_efforts_are_refused_with_the_other_fields(db_session, parties, held):
    now = now_utc()
    data = complete_data(held, parties, now, follow_up_on=today(now) - timedelta(days=1))
    data["efforts"] = [dict(data["efforts"][0], what=f"Insats {n}") for n in range(MAX_EFFORTS + 1)]
    with pytest.raises(InvalidInputs) as refused:
        save(db_session, held, parties.region_user, data, now)
    assert {error.field for error in refused.value.errors} == {"efforts", "follow_up_on"}


def test_the_page_marks_every_field_on_the_first_send_keeping_the_text(client, db_session, parties, held):
    assert login(client, parties.region_user.username).status_code == 302
    url = f"/cases/{held.uid}/plan"
    before = content(db_session, held)
    form = forms_of(text_of(client.get(url)))[url]
    typed = {
        "needs": "Behov " + "x" * 4000,  # too long: the form's own check
        "follow_up_on": "2020-01-01",  # past: the service's
        "efforts-0-what": "Samtalsstöd",
        "efforts-0-organisation_id": parties.region.organisation_id,
        "efforts-0-starts_on": "2027-03-01",
        "efforts-0-ends_on": "2027-02-01",
        "efforts-1-what": "Boendestöd",
        "efforts-1-organisation_id": parties.municipality.organisation_id,
        "efforts-1-unit_id": parties.region.id,
        "contacts-0-name": "Anna Ek",
        "contacts-0-email": "inte en adress",
    }
    response = client.post(url, data=fill(form, action="save", **typed))
    assert response.status_code == 400
    html = text_of(response)
    for field_id in (
        "needs",
        "follow_up_on",
        "efforts-0-ends_on",
        "efforts-1-unit_id",
        "contacts-0-email",
    ):
        assert f'id="{field_id}-error"' in html, field_id
    # Marked once each: the form's own refusal of the text is not repeated by the service's.
    needs_errors = re.search(r'id="needs-error">(.*?)</ul>', html, re.S).group(1)
    assert needs_errors.count("<li>") == 1
    for value in ("Samtalsstöd", "Boendestöd", "inte en adress", "2027-03-01", "2020-01-01"):
        assert value in html
    assert content(db_session, held) == before
