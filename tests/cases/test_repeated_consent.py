"""The consent step sent again by its own user a moment later (a double click, lists and all) is told done."""

from __future__ import annotations

import pytest
from sqlmodel import select
from webkit import fill, forms_of, login, text_of

from sipflow.cases.models import Participant, SipCase, TransitionLog
from sipflow.consent.models import Consent


@pytest.fixture
def as_region(client, parties):
    assert login(client, parties.region_user.username).status_code == 302
    return client


def _add_guardian(client, case, name):
    url = f"/cases/{case.uid}/participants/private"
    form = forms_of(text_of(client.get(f"/cases/{case.uid}")))[url]
    added = client.post(url, data=fill(form, **{"private-kind": "guardian", "private-name": name}))
    assert added.status_code == 303


def _consent_form(client, db_session, case):
    page, action = f"/cases/{case.uid}", f"/cases/{case.uid}/transitions/give_consent"
    guardians = db_session.exec(
        select(Participant.id).where(Participant.case_id == case.id, Participant.kind == "guardian")
    ).all()
    data = fill(
        forms_of(text_of(client.get(page)))[action],
        **{
            "give_consent-given_by": "guardian",
            "give_consent-form": "written",
            # Ticked in the other order than the page lists them: the order says nothing.
            "give_consent-guardian_participant_ids": sorted(guardians, reverse=True),
        },
    )
    assert data.getlist("give_consent-organisation_ids")  # ticked from the start
    return action, data


def test_the_consent_sent_twice_with_its_lists_is_told_done(as_region, db_session, create_case):
    case = create_case("sip_child")
    for name in ("Maria Lindqvist", "Jonas Lindqvist"):
        _add_guardian(as_region, case, name)
    action, data = _consent_form(as_region, db_session, case)
    assert as_region.post(action, data=data).status_code == 303

    again = as_region.post(action, data=data)
    assert again.status_code == 303 and again.headers["Location"].endswith(f"/cases/{case.uid}")
    assert "troligen ett dubbelklick" in text_of(as_region.get(f"/cases/{case.uid}"))
    db_session.expire_all()
    assert len(db_session.exec(select(Consent).where(Consent.case_id == case.id)).all()) == 2
    logs = db_session.exec(
        select(TransitionLog).where(TransitionLog.case_id == case.id, TransitionLog.trigger == "give_consent")
    ).all()
    assert len(logs) == 1


def test_the_consent_sent_again_covering_other_organisations_is_a_conflict(
    as_region, db_session, create_case
):
    """Another scope is another attempt: refused as stale, with what was typed, not told done."""
    case = create_case("sip_child")
    _add_guardian(as_region, case, "Maria Lindqvist")
    action, data = _consent_form(as_region, db_session, case)
    assert as_region.post(action, data=data).status_code == 303

    fewer = data.copy()
    fewer.setlist("give_consent-organisation_ids", data.getlist("give_consent-organisation_ids")[:1])
    again = as_region.post(action, data=fewer)
    assert again.status_code == 409
    assert "Någon annan har ändrat denna SIP medan du arbetade." in text_of(again)
    db_session.expire_all()
    assert db_session.get(SipCase, case.id).state == "consent_given"
