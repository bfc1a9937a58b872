"""A child's SIP refused for a missing guardian's consent names the guardians who have not consented."""

from __future__ import annotations

import logging

import pytest
from guardiankit import add_guardian, consented_then_second_guardian, field_errors, guardian_ids, step
from sqlmodel import select
from webkit import forms_of, login, text_of
from werkzeug.datastructures import MultiDict

from sipflow.cases.models import SipCase
from sipflow.consent.models import Consent

pytestmark = pytest.mark.usefixtures("frozen_clock")


@pytest.fixture
def as_region(client, parties):
    assert login(client, parties.region_user.username).status_code == 302
    return client


def test_the_consent_step_names_the_guardians_who_have_not_consented_and_logs_no_name(
    as_region, create_case, db_session, caplog
):
    case = create_case("sip_child")
    for name in ("Maria Lindqvist", "Jonas Lindqvist", "Sara Berg"):
        add_guardian(as_region, case, name)
    ids = guardian_ids(db_session, case)
    caplog.clear()
    with caplog.at_level(logging.DEBUG):
        refused = step(
            as_region,
            case,
            "give_consent",
            given_by="guardian",
            form="written",
            guardian_participant_ids=str(ids["Maria Lindqvist"]),
        )
    assert refused.status_code == 409
    errors = field_errors(text_of(refused), "give_consent-guardian_participant_ids")
    assert "Alla vårdnadshavare som deltar måste samtycka." in errors
    assert "Har inte samtyckt: Jonas Lindqvist, Sara Berg." in errors
    assert "Maria Lindqvist" not in errors
    # Names belong on the page only: not in any log line of the refused step.
    assert not [r for r in caplog.records if "Lindqvist" in r.getMessage() or "Sara Berg" in r.getMessage()]
    db_session.expire_all()
    assert db_session.get(SipCase, case.id).state == "requested"


def test_a_guardian_who_joined_after_the_consent_is_named_when_the_sip_cannot_go_on(
    as_region, create_case, db_session
):
    case = consented_then_second_guardian(as_region, create_case, db_session)
    refused = step(as_region, case, "start_preparation", child_view="Jag vill gå kvar i min klass.")
    assert refused.status_code == 409
    html = text_of(refused)
    assert "Har inte samtyckt: Jonas Lindqvist." in html
    assert "Jag vill gå kvar i min klass." in html


def test_a_typed_name_with_ticked_guardians_is_refused_beside_the_field_and_the_input_kept(
    as_region, create_case, db_session
):
    """The ticked guardians' rows carry their own names: a name typed as well would be dropped unseen."""
    case = create_case("sip_child")
    for name in ("Maria Lindqvist", "Jonas Lindqvist"):
        add_guardian(as_region, case, name)
    ids = guardian_ids(db_session, case)
    refused = step(
        as_region,
        case,
        "give_consent",
        given_by="guardian",
        form="written",
        given_by_name="Lisa Barnsson",
        guardian_participant_ids=[str(i) for i in ids.values()],
    )
    assert refused.status_code == 400
    html = text_of(refused)
    errors = field_errors(html, "give_consent-given_by_name")
    assert "Ange antingen vårdnadshavarna som samtycker eller namnet på den som samtycker" in errors
    form = MultiDict(forms_of(html)[f"/cases/{case.uid}/transitions/give_consent"])
    assert form["give_consent-given_by_name"] == "Lisa Barnsson"
    ticked = form.getlist("give_consent-guardian_participant_ids")
    assert sorted(ticked) == sorted(str(i) for i in ids.values())
    db_session.expire_all()
    assert db_session.exec(select(Consent).where(Consent.case_id == case.id)).all() == []
    assert db_session.get(SipCase, case.id).state == "requested"


def test_a_guardians_name_in_the_refusal_is_text_never_markup(as_region, create_case, db_session):
    # Whoever may add a guardian types the name: in the refusal it is shown as typed, not obeyed as HTML
    # (a meta refresh would send the colleague who reads the page to another site).
    case = create_case("sip_child")
    trap = '<meta http-equiv="refresh" content="5;url=https://evil.example/">'
    for name in ("Maria Lindqvist", trap):
        add_guardian(as_region, case, name)
    ids = guardian_ids(db_session, case)
    refused = step(
        as_region,
        case,
        "give_consent",
        given_by="guardian",
        form="written",
        guardian_participant_ids=str(ids["Maria Lindqvist"]),
    )
    assert refused.status_code == 409
    html = text_of(refused)
    assert "<meta http-equiv" not in html
    errors = field_errors(html, "give_consent-guardian_participant_ids")
    assert "Har inte samtyckt: &lt;meta http-equiv=" in errors
