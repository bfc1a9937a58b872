"""A consent withdrawn for one organisation, and what a further consent that leaves one out does (tester:
a renewed consent leaving out an organisation took no access away and said nothing)."""

from __future__ import annotations

import html as htmllib

from sqlmodel import select
from webkit import FreshContextClient, fill, forms_of, login, text_of

from sipflow.consent.models import Consent, ConsentOrganisation
from sipflow.people.models import Organisation
from sipflow.security.audit import AccessLogEntry


def _further(case) -> str:
    return f"/cases/{case.uid}/consent/further"


def _withdrawal(case) -> str:
    return f"/cases/{case.uid}/consent/withdraw-organisation"


def _client(app, user) -> FreshContextClient:
    client = FreshContextClient(app, app.response_class, use_cookies=True)
    assert login(client, user.username).status_code == 302
    return client


def _name(db_session, unit) -> str:
    return db_session.get(Organisation, unit.organisation_id).name


def _first_valid_until(db_session, case):
    first = db_session.exec(select(Consent).where(Consent.case_id == case.id).order_by(Consent.id)).first()
    return first.valid_until


def _page(client, url) -> str:
    return htmllib.unescape(text_of(client.get(url)))


def _record_further(client, case, organisations):
    form = forms_of(text_of(client.get(_further(case))))[_further(case)]
    return client.post(
        _further(case),
        data=fill(
            form,
            **{
                "consent-given_by": "person",
                "consent-form": "oral",
                "consent-organisation_ids": [str(u.organisation_id) for u in organisations],
            },
        ),
    )


def test_the_further_consent_page_says_what_earlier_consents_cover_and_until_when(
    app, db_session, parties, joined_later
):
    case = joined_later
    region = _client(app, parties.region_user)
    page = _page(region, _further(case))
    until = _first_valid_until(db_session, case).isoformat()
    assert "Samtycken som gäller nu omfattar redan de här organisationerna:" in page
    assert f"{_name(db_session, parties.municipality)}, till och med {until}" in page
    # The school joined later: no consent covers it, so it is not listed as covered.
    assert f"{_name(db_session, parties.school)}, till och med" not in page
    assert (
        "en organisation som du inte kryssar för här ser SIP:en så länge ett tidigare samtycke omfattar den"
        in page
    )
    assert _withdrawal(case) in page


def test_a_further_consent_leaving_out_a_covered_organisation_says_it_keeps_seeing_the_sip(
    app, db_session, parties, joined_later
):
    case = joined_later
    region = _client(app, parties.region_user)
    response = _record_further(region, case, [parties.region, parties.school])
    assert response.status_code == 303
    page = _page(region, f"/cases/{case.uid}")
    until = _first_valid_until(db_session, case).isoformat()
    assert "Samtycket är registrerat." in page
    municipality = _name(db_session, parties.municipality)
    assert (
        f"Det nya samtycket tar inte med {municipality} (till och med {until}), men ett tidigare samtycke "
        "omfattar dem fortfarande" in page
    )
    assert "Återkalla samtycket för en organisation" in page
    # The initiator leads the SIP whatever the consent: it is not named as left out.
    assert f"tar inte med {_name(db_session, parties.region)}" not in page
    # What the message says: the municipality still sees the SIP.
    assert _client(app, parties.municipality_user).get(f"/cases/{case.uid}").status_code == 200


def test_a_consent_withdrawn_for_one_organisation_ends_its_access_alone_and_is_logged(
    app, db_session, parties, joined_later
):
    case = joined_later
    region = _client(app, parties.region_user)
    assert (
        _record_further(region, case, [parties.region, parties.municipality, parties.school]).status_code
        == 303
    )
    municipality, school = _client(app, parties.municipality_user), _client(app, parties.school_user)
    assert municipality.get(f"/cases/{case.uid}").status_code == 200
    assert case.reference in _page(municipality, "/cases")

    # The case page leads to it.
    assert _withdrawal(case) in _page(region, f"/cases/{case.uid}")
    form = forms_of(text_of(region.get(_withdrawal(case))))[_withdrawal(case)]
    response = region.post(
        _withdrawal(case),
        data=fill(
            form,
            organisation_id=str(parties.municipality.organisation_id),
            reason="Vill inte att kommunen får uppgifterna",
        ),
    )
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/cases/{case.uid}")
    name = _name(db_session, parties.municipality)
    page = _page(region, f"/cases/{case.uid}")
    assert f"Samtycket är återkallat för {name}" in page
    assert f"För {name}:" in page and "Vill inte att kommunen får uppgifterna" in page

    # Both consents in force named the municipality: both rows are ended, by whom and why.
    db_session.expire_all()
    rows = db_session.exec(
        select(ConsentOrganisation).where(
            ConsentOrganisation.organisation_id == parties.municipality.organisation_id
        )
    ).all()
    assert len(rows) == 2
    assert all(r.withdrawn_at is not None and r.withdrawn_by_user_id == parties.region_user.id for r in rows)
    assert {r.withdrawn_reason for r in rows} == {"Vill inte att kommunen får uppgifterna"}

    # The municipality no longer sees the SIP, nor finds it in Mina SIP; the others keep theirs.
    assert municipality.get(f"/cases/{case.uid}").status_code == 404
    assert case.reference not in _page(municipality, "/cases")
    assert school.get(f"/cases/{case.uid}").status_code == 200
    assert case.reference in _page(school, "/cases")
    assert region.get(f"/cases/{case.uid}").status_code == 200
    # The withdrawal is in the access log.
    logged = db_session.exec(
        select(AccessLogEntry.action).where(
            AccessLogEntry.case_id == case.id, AccessLogEntry.user_id == parties.region_user.id
        )
    ).all()
    assert logged.count("case.consent") == 1  # the further consent
    assert logged.count("case.consent.withdraw_organisation") == 1  # the withdrawal, an action of its own
    # It is no longer offered, and sending it again is refused at the field.
    assert f'value="{parties.municipality.organisation_id}"' not in text_of(region.get(_withdrawal(case)))


def test_a_refused_withdrawal_keeps_what_was_typed_and_says_it_at_the_field(
    app, db_session, parties, joined_later
):
    case = joined_later
    region = _client(app, parties.region_user)
    form = forms_of(text_of(region.get(_withdrawal(case))))[_withdrawal(case)]
    response = region.post(_withdrawal(case), data=fill(form, reason="Sade det i telefon"))
    assert response.status_code == 400
    page = htmllib.unescape(text_of(response))
    assert "Välj den organisation som samtycket återkallas för." in page
    assert "Sade det i telefon" in page
    # Only the municipality (not the initiator) can be chosen, and choosing another is refused too.
    response = region.post(
        _withdrawal(case), data=fill(form, organisation_id=str(parties.school.organisation_id))
    )
    assert response.status_code == 400
    assert "Samtycket omfattar inte den organisationen nu." in htmllib.unescape(text_of(response))
    db_session.expire_all()
    assert all(r.withdrawn_at is None for r in db_session.exec(select(ConsentOrganisation)).all())


def test_a_party_that_does_not_record_consent_cannot_withdraw_it_for_an_organisation(
    app, parties, joined_later
):
    municipality = _client(app, parties.municipality_user)
    response = municipality.get(_withdrawal(joined_later))
    assert response.status_code == 403
    assert 'name="organisation_id"' not in text_of(response)
    assert _withdrawal(joined_later) not in text_of(municipality.get(f"/cases/{joined_later.uid}"))
