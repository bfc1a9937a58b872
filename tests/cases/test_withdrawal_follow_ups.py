"""After a consent withdrawn for one organisation (tester): the further consent's ticks, the withdrawal
page's words for who gave the consent, the initiator's refusal, and the removed participants' labels."""

from __future__ import annotations

import html as htmllib
import re

import pytest
from sqlmodel import select
from support import fire
from webkit import FreshContextClient, fill, forms_of, login, text_of

from sipflow.cases import services as case_services
from sipflow.cases.models import Participant
from sipflow.clock import now_utc
from sipflow.consent.models import Consent
from sipflow.db import unit_of_work
from sipflow.people.models import Organisation, Unit

pytestmark = pytest.mark.usefixtures("frozen_clock")


def _client(app, user) -> FreshContextClient:
    client = FreshContextClient(app, app.response_class, use_cookies=True)
    assert login(client, user.username).status_code == 302
    return client


def _page(client, url) -> str:
    return htmllib.unescape(text_of(client.get(url)))


def _removed_section(html: str) -> str:
    found = re.search(r'<section class="card" aria-labelledby="h-removed">.*?</section>', html, re.S)
    assert found, html
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", found[0]))


def test_a_removed_unit_is_labelled_as_the_participants_are_without_a_kind(
    app, db_session, registry, parties, joined_later
):
    case = joined_later
    school = next(
        p
        for p in db_session.exec(select(Participant).where(Participant.case_id == case.id)).all()
        if p.unit_id == parties.school.id
    )
    db_session.refresh(case)
    with unit_of_work(db_session):
        case_services.remove_participant(
            db_session,
            registry,
            case,
            parties.region_user,
            school.id,
            reason="Tillagd av misstag",
            now=now_utc(),
            expected_version=case.version,
        )
    organisation = db_session.get(Organisation, parties.school.organisation_id).name
    unit = db_session.get(Unit, parties.school.id).name
    removed = _removed_section(_page(_client(app, parties.region_user), f"/cases/{case.uid}"))
    assert f"{organisation}, {unit}: borttagen" in removed
    assert "(Organisation)" not in removed


def _withdrawal(case) -> str:
    return f"/cases/{case.uid}/consent/withdraw-organisation"


def test_the_initiator_posted_to_the_withdrawal_is_told_it_sees_the_sip_whatever_the_consent(
    app, db_session, parties, joined_later
):
    case = joined_later
    region = _client(app, parties.region_user)
    form = forms_of(text_of(region.get(_withdrawal(case))))[_withdrawal(case)]
    response = region.post(
        _withdrawal(case), data=fill(form, organisation_id=str(parties.region.organisation_id))
    )
    assert response.status_code == 400
    page = htmllib.unescape(text_of(response))
    # The consent covers the region: the page does not say it does not.
    assert "Samtycket omfattar inte den organisationen nu." not in page
    assert (
        "Den organisation som startade SIP:en ser den oavsett vad samtycket säger. Om samtycket ska "
        "återkallas helt registrerar du det med ”Återkalla samtycket” under Nästa steg." in page
    )


def _further(case) -> str:
    return f"/cases/{case.uid}/consent/further"


def _withdraw(client, case, organisation_id):
    form = forms_of(text_of(client.get(_withdrawal(case))))[_withdrawal(case)]
    response = client.post(_withdrawal(case), data=fill(form, organisation_id=str(organisation_id)))
    assert response.status_code == 303


def _ticked(html: str) -> set[str]:
    boxes = re.findall(r'<input[^>]*name="consent-organisation_ids"[^>]*>', html)
    return {re.search(r'value="(\d+)"', box)[1] for box in boxes if "checked" in box}


def test_an_organisation_withdrawn_for_starts_unticked_on_a_further_consent_and_is_marked(
    app, db_session, parties, joined_later
):
    case = joined_later
    region = _client(app, parties.region_user)
    _withdraw(region, case, parties.municipality.organisation_id)
    html = text_of(region.get(_further(case)))
    municipality = str(parties.municipality.organisation_id)
    # Keeping the defaults gives the municipality nothing back; the others start ticked as before.
    assert _ticked(html) == {str(parties.region.organisation_id), str(parties.school.organisation_id)}
    note = re.search(
        rf'<li><input[^>]*value="{municipality}"[^>]*>.*?<p class="help"[^>]*>(.*?)</p>', html, re.S
    )
    assert note, html
    assert htmllib.unescape(note[1]).strip() == f"Samtycket återkallat {now_utc().date().isoformat()}"

    # Ticking it again stays possible: a new consent naming it gives it the SIP back, and the mark goes.
    form = forms_of(html)[_further(case)]
    values = {
        "consent-given_by": "person",
        "consent-form": "oral",
        "consent-organisation_ids": [str(parties.region.organisation_id), municipality],
    }
    assert region.post(_further(case), data=fill(form, **values)).status_code == 303
    assert _client(app, parties.municipality_user).get(f"/cases/{case.uid}").status_code == 200
    html = text_of(region.get(_further(case)))
    assert municipality in _ticked(html) and "Samtycket återkallat" not in htmllib.unescape(html)


def test_the_withdrawal_page_of_a_childs_sip_speaks_of_the_guardians(
    app, db_session, registry, parties, create_case
):
    case = create_case("sip_child")
    fire(db_session, registry, parties.region_user, case, "give_consent", now=now_utc())
    assert {c.given_by for c in db_session.exec(select(Consent).where(Consent.case_id == case.id))} == {
        "guardian"
    }
    page = _page(_client(app, parties.region_user), _withdrawal(case))
    assert "När vårdnadshavarna återkallar samtycket för en organisation" in page
    assert "Skäl som vårdnadshavarna angav (om något)" in page
    assert "om vårdnadshavarna återkallar samtycket för den" in page
    assert "personen" not in page


def test_the_withdrawal_page_of_a_persons_own_consent_speaks_of_the_person(app, parties, joined_later):
    page = _page(_client(app, parties.region_user), _withdrawal(joined_later))
    assert "När personen återkallar samtycket för en organisation" in page
    assert "Skäl som personen angav (om något)" in page
