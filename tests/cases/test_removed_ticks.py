"""A consent form ticked on a page read before a guardian or an organisation left the SIP: after the
conflict, each one removed is named beside its checkbox group, not silently unticked."""

from __future__ import annotations

import re

import pytest
from sqlmodel import select
from webkit import fill, forms_of, login, text_of

from sipflow.cases import services
from sipflow.cases.models import Participant, SipCase
from sipflow.clock import now_utc
from sipflow.db import unit_of_work
from sipflow.people.models import Organisation


@pytest.fixture
def as_region(client, parties):
    assert login(client, parties.region_user.username).status_code == 302
    return client


def _add_guardian(client, case, name):
    url = f"/cases/{case.uid}/participants/private"
    form = forms_of(text_of(client.get(f"/cases/{case.uid}")))[url]
    added = client.post(url, data=fill(form, **{"private-kind": "guardian", "private-name": name}))
    assert added.status_code == 303


def _remove(db_session, registry, parties, case, participant_id):
    case = db_session.get(SipCase, case.id)
    db_session.refresh(case)
    with unit_of_work(db_session):
        services.remove_participant(
            db_session,
            registry,
            case,
            parties.region_user,
            participant_id,
            reason="Tillagd av misstag",
            now=now_utc(),
            expected_version=case.version,
        )


def _group(html: str, field: str) -> str:
    found = re.search(rf'<ul class="field-errors" id="{field}-error">(.*?)</ul>', html, re.S)
    assert found, html
    return found.group(1)


def _ticked(html: str, field: str) -> set[str]:
    return set(re.findall(rf'<input[^>]*checked[^>]*name="{field}"[^>]*value="(\d+)"', html)) | set(
        re.findall(rf'<input[^>]*name="{field}"[^>]*value="(\d+)"[^>]*checked', html)
    )


def test_a_guardian_and_an_organisation_removed_meanwhile_are_named_beside_their_groups(
    as_region, db_session, registry, parties, create_case
):
    case = create_case("sip_child")
    for name in ("Maria Lindqvist", "Jonas Lindqvist"):
        _add_guardian(as_region, case, name)
    rows = db_session.exec(select(Participant).where(Participant.case_id == case.id)).all()
    guardians = {p.name: p.id for p in rows if p.kind == "guardian"}
    school = next(p for p in rows if p.organisation_id == parties.school.organisation_id)
    page, action = f"/cases/{case.uid}", f"/cases/{case.uid}/transitions/give_consent"
    mine = forms_of(text_of(as_region.get(page)))[action]
    # A colleague takes Jonas and the school off the SIP while the consent form is open.
    _remove(db_session, registry, parties, case, guardians["Jonas Lindqvist"])
    _remove(db_session, registry, parties, case, school.id)

    response = as_region.post(
        action,
        data=fill(
            mine,
            **{
                "give_consent-given_by": "guardian",
                "give_consent-form": "written",
                "give_consent-guardian_participant_ids": list(guardians.values()),
            },
        ),
    )
    assert response.status_code == 409
    html = text_of(response)
    assert "Jonas Lindqvist har tagits bort från SIP:en och är inte med längre." in _group(
        html, "give_consent-guardian_participant_ids"
    )
    school_name = db_session.get(Organisation, parties.school.organisation_id).name
    organisations = _group(html, "give_consent-organisation_ids")
    assert f"{school_name} har tagits bort från SIP:en och är inte med längre." in organisations
    # The one still on the SIP stays ticked.
    assert _ticked(html, "give_consent-guardian_participant_ids") == {str(guardians["Maria Lindqvist"])}
