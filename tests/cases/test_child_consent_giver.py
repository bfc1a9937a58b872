"""One rule of who gives or declines a child's consent (consent.services._givers): a guardian, named by
the guardian ticks; anyone else is refused beside "Given by"/"Declined by" (400); a refusal says who declined.
"""

from __future__ import annotations

import pytest
from guardiankit import add_guardian, field_errors, guardian_ids, step
from sqlmodel import select
from webkit import fill, forms_of, login, text_of

from sipflow.cases.models import SipCase
from sipflow.consent.models import Consent

pytestmark = pytest.mark.usefixtures("frozen_clock")


@pytest.fixture
def as_region(client, parties):
    assert login(client, parties.region_user.username).status_code == 302
    return client


def _consents(db_session, case) -> list[Consent]:
    db_session.expire_all()
    return list(db_session.exec(select(Consent).where(Consent.case_id == case.id).order_by(Consent.id)).all())


CHILD_RULE = "För ett barn ges eller nekas samtycket av en vårdnadshavare"


def test_a_consent_from_the_person_on_a_child_sip_is_refused_beside_given_by(
    as_region, create_case, db_session
):
    case = create_case("sip_child")
    refused = step(as_region, case, "give_consent", given_by="person", form="written")
    assert refused.status_code == 400
    assert CHILD_RULE in field_errors(text_of(refused), "give_consent-given_by")
    assert _consents(db_session, case) == []
    assert db_session.get(SipCase, case.id).state == "requested"


@pytest.mark.parametrize("giver", ["person", "legal_representative"])
def test_a_decline_from_anyone_but_a_guardian_on_a_child_sip_is_refused_beside_declined_by(
    as_region, create_case, db_session, giver
):
    case = create_case("sip_child")
    refused = step(as_region, case, "decline_consent", given_by=giver, form="oral", reason="Vill inte")
    assert refused.status_code == 400
    assert CHILD_RULE in field_errors(text_of(refused), "decline_consent-given_by")
    assert _consents(db_session, case) == []
    assert db_session.get(SipCase, case.id).state == "requested"


def test_a_guardians_decline_names_the_guardians_who_declined(as_region, create_case, db_session):
    case = create_case("sip_child")
    for name in ("Maria Lindqvist", "Jonas Lindqvist"):
        add_guardian(as_region, case, name)
    ids = guardian_ids(db_session, case)
    unnamed = step(as_region, case, "decline_consent", given_by="guardian", form="oral", reason="Vill inte")
    assert unnamed.status_code == 400
    assert "Markera de vårdnadshavare som har nekat." in field_errors(
        text_of(unnamed), "decline_consent-guardian_participant_ids"
    )
    assert _consents(db_session, case) == []
    declined = step(
        as_region,
        case,
        "decline_consent",
        given_by="guardian",
        form="oral",
        reason="Vill inte",
        guardian_participant_ids=str(ids["Jonas Lindqvist"]),
    )
    assert declined.status_code == 303
    rows = _consents(db_session, case)
    assert [(r.decision, r.given_by, r.given_by_participant_id, r.given_by_name) for r in rows] == [
        ("declined", "guardian", ids["Jonas Lindqvist"], "Jonas Lindqvist")
    ]
    assert db_session.get(SipCase, case.id).state == "declined"


def test_an_adults_decline_by_the_person_still_stands(as_region, create_case, db_session):
    case = create_case()
    declined = step(as_region, case, "decline_consent", given_by="person", form="oral", reason="Vill inte")
    assert declined.status_code == 303
    assert [(r.decision, r.given_by) for r in _consents(db_session, case)] == [("declined", "person")]


def test_a_further_consent_on_a_child_sip_is_refused_from_the_person_beside_given_by(
    as_region, create_case, db_session
):
    """The further-consent page asks the same rule as the consent step (record_further_consent)."""
    case = create_case("sip_child")
    given = step(as_region, case, "give_consent", given_by="guardian", form="written")
    assert given.status_code == 303
    url = f"/cases/{case.uid}/consent/further"
    form = forms_of(text_of(as_region.get(url)))[url]
    sent = fill(form, **{"consent-given_by": "person", "consent-form": "written"})
    refused = as_region.post(url, data=sent)
    assert refused.status_code == 400
    assert CHILD_RULE in field_errors(text_of(refused), "consent-given_by")
    assert [c.given_by for c in _consents(db_session, case)] == ["guardian"]
