"""A child's SIP whose child turns 18 while it runs: from the birthday the young adult consents themselves.

Custody ends at 18 (föräldrabalken 6 kap. 2 §). A child's SIP (sip_child version 2 asks every guardian's
consent at each step) begun for a 17-year-old must not stop when the guardians' consent runs out after the
birthday: the further consent is the person's own, and the steps no longer ask for the guardians'.
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

CHILD_RULE = "För ett barn ges eller nekas samtycket av en vårdnadshavare"
# FIXED_NOW is 2 November 2026: the child turns 18 on 10 November.
BIRTH = date(2008, 11, 10)


@pytest.fixture
def as_region(client, parties):
    assert login(client, parties.region_user.username).status_code == 302
    return client


def _child_sip(db_session, registry, parties, person, now):
    """A child's SIP for person started by the region, with the municipality and the school taking part."""
    return new_case(
        db_session,
        registry,
        parties.region_user,
        workflow="sip_child",
        person=person,
        unit_ids=[parties.municipality.id, parties.school.id],
        now=now,
    )


@pytest.fixture
def consented(as_region, db_session, registry, parties, make_person, now):
    """A 17-year-old's SIP (the school counsellor's county: region, municipality, school) whose two
    guardians consented until withdrawn: a guardian's consent ends the day before the 18th birthday."""
    case = _child_sip(db_session, registry, parties, make_person(birth=BIRTH), now)
    db_session.commit()
    assert case.workflow_version == 2
    for name in ("Maria Lindqvist", "Jonas Lindqvist"):
        add_guardian(as_region, case, name)
    ids = guardian_ids(db_session, case)
    given = step(
        as_region,
        case,
        "give_consent",
        given_by="guardian",
        form="written",
        guardian_participant_ids=[str(ids["Maria Lindqvist"]), str(ids["Jonas Lindqvist"])],
    )
    assert given.status_code == 303, text_of(given)
    return case


def _further(client, case, **values):
    url = f"/cases/{case.uid}/consent/further"
    got = client.get(url)
    assert got.status_code == 200, (got.status_code, text_of(got)[text_of(got).find("<main") :][:3000])
    form = forms_of(text_of(got))[url]
    return client.post(url, data=fill(form, **{f"consent-{k}": v for k, v in values.items()}))


def test_before_the_birthday_the_person_does_not_consent_for_themselves(as_region, consented, db_session):
    refused = _further(as_region, consented, given_by="person", form="written")
    assert refused.status_code == 400
    assert CHILD_RULE in field_errors(text_of(refused), "consent-given_by")


def test_after_the_birthday_the_young_adult_consents_and_the_sip_goes_on(
    app, consented, db_session, frozen_clock, parties
):
    frozen_clock.advance(timedelta(days=30))  # 2 December: 18, the guardians' consent ran out
    # The counsellor's session of a month ago has timed out: a new one.
    as_region = FreshContextClient(app, app.response_class, use_cookies=True)
    assert login(as_region, parties.region_user.username).status_code == 302
    page = text_of(as_region.get(f"/cases/{consented.uid}"))
    # The case page does not ask staff for the guardians' consent any more.
    assert 'id="guardians-lacking-consent"' not in page
    given = _further(as_region, consented, given_by="person", form="written", valid_until="2027-12-31")
    assert given.status_code == 303, field_errors(text_of(given), "consent-given_by")
    db_session.expire_all()
    rows = db_session.exec(select(Consent).where(Consent.case_id == consented.id).order_by(Consent.id)).all()
    assert [c.given_by for c in rows] == ["guardian", "guardian", "person"]
    # The next step is not refused for the guardians' consent, which they no longer give.
    prepared = step(as_region, consented, "start_preparation", child_view="Jag vill gå kvar i min klass.")
    assert prepared.status_code == 303, text_of(prepared)
    db_session.expire_all()
    assert db_session.get(SipCase, consented.id).state == "preparing"


def _given_by(client, case, trigger: str) -> str:
    """The "given by" a fresh step form of the case page starts at."""
    url = f"/cases/{case.uid}/transitions/{trigger}"
    return dict(forms_of(text_of(client.get(f"/cases/{case.uid}")))[url])[f"{trigger}-given_by"]


def test_the_consent_form_starts_at_the_guardian_for_a_child_and_at_the_person_from_18(
    as_region, db_session, registry, parties, make_person, now
):
    cases = {}
    for name, birth in (("child", BIRTH), ("adult", date(2007, 5, 17))):
        cases[name] = _child_sip(db_session, registry, parties, make_person(birth=birth), now)
    db_session.commit()
    assert _given_by(as_region, cases["child"], "give_consent") == "guardian"
    assert _given_by(as_region, cases["child"], "decline_consent") == "guardian"
    # A child's SIP started for a 19-year-old (the user confirmed it): the person consents themselves.
    assert _given_by(as_region, cases["adult"], "give_consent") == "person"
    assert _given_by(as_region, cases["adult"], "decline_consent") != "guardian"
