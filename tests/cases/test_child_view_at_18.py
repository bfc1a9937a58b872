"""From the 18th birthday a child's SIP no longer asks for "the child's own view".

The child's own view is the voice of a child (Barnkonventionen art. 12), recorded beside the guardians'
consent. A child's SIP whose child turned 18 before its preparation asked staff, at "Börja förbereda" and
again at the kallelse, for "Barnets egen syn" of an adult, and refused the step without one, while the plan
itself (plan_child_view_or_reason) asked it only of a person under 18. The rule is now one,
cases.services.asks_childs_view: the preparation form's field and the guard child_view_recorded ask it only
of a person not yet 18; the young adult's voice is their own goals.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from guardiankit import child_sip, consented_by_a_guardian, logged_in, step
from webkit import fill, forms_of, text_of

from sipflow.cases.models import SipCase

pytestmark = pytest.mark.usefixtures("frozen_clock")

# FIXED_NOW is 2 November 2026: the child turns 18 on 10 November.
BIRTH = date(2008, 11, 10)
FIELD = "start_preparation-child_view"


def _preparation_form(client, case) -> dict:
    url = f"/cases/{case.uid}/transitions/start_preparation"
    return dict(forms_of(text_of(client.get(f"/cases/{case.uid}")))[url])


def test_a_young_adult_is_not_asked_for_a_childs_view(
    app, db_session, registry, parties, make_person, now, frozen_clock
):
    case = child_sip(db_session, registry, parties, make_person(birth=BIRTH), now)
    region = logged_in(app, parties.region_user)
    consented_by_a_guardian(region, db_session, case)
    # At 17 the child's view is asked for.
    assert FIELD in _preparation_form(region, case)
    frozen_clock.advance(timedelta(days=8))  # 10 November: the 18th birthday
    region = logged_in(app, parties.region_user)
    url = f"/cases/{case.uid}/consent/further"
    form = forms_of(text_of(region.get(url)))[url]
    values = {"consent-given_by": "person", "consent-form": "written", "consent-valid_until": "2027-11-30"}
    assert region.post(url, data=fill(form, **values)).status_code == 303
    assert FIELD not in _preparation_form(region, case)
    prepared = step(region, case, "start_preparation", own_goals="Att klara gymnasiet")
    assert prepared.status_code == 303, text_of(prepared)
    db_session.expire_all()
    assert db_session.get(SipCase, case.id).state == "preparing"
