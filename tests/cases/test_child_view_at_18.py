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
from guardiankit import add_guardian, guardian_ids, step
from support import new_case
from webkit import FreshContextClient, fill, forms_of, login, text_of

from sipflow.cases.models import SipCase

pytestmark = pytest.mark.usefixtures("frozen_clock")

# FIXED_NOW is 2 November 2026: the child turns 18 on 10 November.
BIRTH = date(2008, 11, 10)
FIELD = "start_preparation-child_view"


def _client(app, user):
    client = FreshContextClient(app, app.response_class, use_cookies=True)
    assert login(client, user.username).status_code == 302
    return client


def _preparation_form(client, case) -> dict:
    url = f"/cases/{case.uid}/transitions/start_preparation"
    return dict(forms_of(text_of(client.get(f"/cases/{case.uid}")))[url])


def test_a_young_adult_is_not_asked_for_a_childs_view(
    app, db_session, registry, parties, make_person, now, frozen_clock
):
    case = new_case(
        db_session,
        registry,
        parties.region_user,
        workflow="sip_child",
        person=make_person(birth=BIRTH),
        unit_ids=[parties.municipality.id, parties.school.id],
        now=now,
    )
    db_session.commit()
    region = _client(app, parties.region_user)
    add_guardian(region, case, "Maria Lindqvist")
    ids = guardian_ids(db_session, case)
    given = step(
        region,
        case,
        "give_consent",
        given_by="guardian",
        form="written",
        guardian_participant_ids=list(map(str, ids.values())),
    )
    assert given.status_code == 303, text_of(given)
    # At 17 the child's view is asked for.
    assert FIELD in _preparation_form(region, case)
    frozen_clock.advance(timedelta(days=8))  # 10 November: the 18th birthday
    region = _client(app, parties.region_user)
    url = f"/cases/{case.uid}/consent/further"
    form = forms_of(text_of(region.get(url)))[url]
    values = {"consent-given_by": "person", "consent-form": "written", "consent-valid_until": "2027-11-30"}
    assert region.post(url, data=fill(form, **values)).status_code == 303
    assert FIELD not in _preparation_form(region, case)
    prepared = step(region, case, "start_preparation", own_goals="Att klara gymnasiet")
    assert prepared.status_code == 303, text_of(prepared)
    db_session.expire_all()
    assert db_session.get(SipCase, case.id).state == "preparing"
