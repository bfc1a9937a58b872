"""A guardian's consent ends when the child turns 18: it never counts as the young adult's own.

Custody ends at 18 (föräldrabalken 6 kap. 2 §), and with it the guardians' right to consent for the person.
A child's SIP begun at 17 whose guardians consented "until withdrawn", or until a day after the birthday,
went on after the birthday on the guardians' consent: the school and the social services kept reading the
SIP and the steps went on without the young adult ever being asked. A guardian's consent now lasts at most
until the day before the 18th birthday (consent.services.guardians_last_day), so from the birthday the
person's own consent is asked for, as for any adult.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from guardiankit import add_guardian, field_errors, guardian_ids, step
from sqlmodel import select
from support import new_case
from webkit import FreshContextClient, fill, forms_of, login, text_of

from sipflow.cases.models import SipCase
from sipflow.consent.models import Consent

pytestmark = pytest.mark.usefixtures("frozen_clock")

# FIXED_NOW is 2 November 2026: the child turns 18 on 10 November.
BIRTH = date(2008, 11, 10)
EVE = date(2026, 11, 9)


@pytest.fixture
def as_region(client, parties):
    assert login(client, parties.region_user.username).status_code == 302
    return client


@pytest.fixture
def case(as_region, db_session, registry, parties, make_person, now):
    """A 17-year-old's child's SIP (region, municipality, school) with two guardians taking part."""
    created = new_case(
        db_session,
        registry,
        parties.region_user,
        workflow="sip_child",
        person=make_person(birth=BIRTH),
        unit_ids=[parties.municipality.id, parties.school.id],
        now=now,
    )
    db_session.commit()
    for name in ("Maria Lindqvist", "Jonas Lindqvist"):
        add_guardian(as_region, created, name)
    return created


def _give(client, db_session, case, valid_until=""):
    ids = guardian_ids(db_session, case)
    return step(
        client,
        case,
        "give_consent",
        given_by="guardian",
        form="written",
        valid_until=valid_until,
        guardian_participant_ids=[str(i) for i in ids.values()],
    )


def _login(app, user):
    client = FreshContextClient(app, app.response_class, use_cookies=True)
    assert login(client, user.username).status_code == 302
    return client


def test_a_guardians_consent_past_the_18th_birthday_is_refused_beside_its_end(as_region, db_session, case):
    refused = _give(as_region, db_session, case, valid_until="2027-06-30")
    assert refused.status_code == 400
    assert "dagen innan personen fyller 18, 2026-11-09: då upphör vårdnaden" in field_errors(
        text_of(refused), "give_consent-valid_until"
    )
    assert not db_session.exec(select(Consent).where(Consent.case_id == case.id)).all()
    # The day before the birthday is the last a guardian's consent can cover.
    assert _give(as_region, db_session, case, valid_until=EVE.isoformat()).status_code == 303


def test_a_guardians_consent_until_withdrawn_ends_the_day_before_the_18th_birthday(
    app, as_region, db_session, case, frozen_clock, parties
):
    given = _give(as_region, db_session, case)
    assert given.status_code == 303, text_of(given)
    rows = db_session.exec(select(Consent).where(Consent.case_id == case.id)).all()
    assert [c.valid_until for c in rows] == [EVE, EVE]
    # The school reads the SIP while the guardians' consent covers it, the day before the birthday too.
    frozen_clock.advance(timedelta(days=7))  # 9 November
    assert _login(app, parties.school_user).get(f"/cases/{case.uid}").status_code == 200
    frozen_clock.advance(timedelta(days=1))  # 10 November: the 18th birthday
    assert _login(app, parties.school_user).get(f"/cases/{case.uid}").status_code == 404
    region = _login(app, parties.region_user)
    refused = step(region, case, "start_preparation", child_view="Jag vill gå kvar i min klass.")
    assert refused.status_code in (400, 409), refused.status_code
    db_session.expire_all()
    assert db_session.get(SipCase, case.id).state == "consent_given"
    # The young adult consents themselves, and the SIP goes on.
    url = f"/cases/{case.uid}/consent/further"
    form = forms_of(text_of(region.get(url)))[url]
    values = {"consent-given_by": "person", "consent-form": "written", "consent-valid_until": "2027-12-31"}
    assert region.post(url, data=fill(form, **values)).status_code == 303
    assert _login(app, parties.school_user).get(f"/cases/{case.uid}").status_code == 200
    prepared = step(region, case, "start_preparation", child_view="Jag vill gå kvar i min klass.")
    assert prepared.status_code == 303, text_of(prepared)
