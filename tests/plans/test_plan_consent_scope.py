"""The plan goes only as far as the consent: no effort is given to an organisation the consent leaves out,
and such an organisation is not asked to approve a plan it can never see."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import support
from plankit import complete_data, save, walk
from sqlmodel import select
from webkit import fill, forms_of, login, text_of

from sipflow.cases.models import SipCase
from sipflow.clock import now_utc, to_local
from sipflow.consent.models import Consent
from sipflow.consent.services import give_consent
from sipflow.db import unit_of_work
from sipflow.errors import InvalidInput, InvalidInputs
from sipflow.plans import approvals
from sipflow.plans.models import PlanContact, PlanEffort
from sipflow.plans.pdf import approval_parties
from sipflow.security import access

pytestmark = pytest.mark.usefixtures("frozen_clock")

SWEDISH = "Samtycket omfattar inte Växjö kommun, så den kan inte se SIP:en."
REFUSAL = SWEDISH + " Registrera först ett ytterligare samtycke som tar med den."


def walk_leaving_out_the_municipality(db_session, registry, parties, create_case, steps):
    """A SIP of the region with Växjö kommun and the school taking part, walked with a consent that covers
    Region Kronoberg and the school but leaves Växjö kommun out (it takes part all the same). A SIP needs
    two organisations that can see it: the school is the second."""
    case = create_case(units=[parties.municipality.id, parties.school.id])
    support.fire(
        db_session,
        registry,
        parties.region_user,
        case,
        "give_consent",
        now=now_utc(),
        organisation_ids=[parties.region.organisation_id, parties.school.organisation_id],
    )
    return walk(db_session, registry, parties.region_user, case, now_utc(), steps=steps)


@pytest.fixture
def held(db_session, registry, parties, create_case):
    """A SIP whose meeting is held, under a consent that leaves Växjö kommun out."""
    return walk_leaving_out_the_municipality(
        db_session, registry, parties, create_case, ("start_preparation", "send_kallelse", "hold_meeting")
    )


def _saved_as_region(client, parties, case, **fields):
    """The region's user saves the plan editor's form as it came, with fields changed."""
    assert login(client, parties.region_user.username).status_code == 302
    url = f"/cases/{case.uid}/plan"
    form = forms_of(text_of(client.get(url)))[url]
    return client.post(url, data=fill(form, action="save", **fields))


def _refused_at(response, field_id: str) -> str:
    """The refused page's part from field_id to the end of its fieldset, which must name the consent."""
    assert response.status_code == 400
    page = text_of(response)
    field = page[page.index(f'id="{field_id}"') :]
    field = field[: field.index("</fieldset>")]
    assert SWEDISH in field
    return field


def test_an_effort_owned_by_an_organisation_the_consent_leaves_out_is_refused_at_its_field(
    client, db_session, parties, held
):
    response = _saved_as_region(
        client,
        parties,
        held,
        **{
            "efforts-0-what": "Boendestöd",
            "efforts-0-organisation_id": parties.municipality.organisation_id,
            "efforts-0-responsible": "Omar Lind",
        },
    )
    _refused_at(response, "efforts-0-organisation_id")
    assert f'href="/cases/{held.uid}/consent/further"' in text_of(response)
    db_session.expire_all()
    assert db_session.exec(select(PlanEffort).where(PlanEffort.what == "Boendestöd")).all() == []


def test_a_contact_of_an_organisation_the_consent_leaves_out_is_refused_at_its_field(
    client, db_session, parties, held
):
    """The plan names no contact person of an organisation the person did not consent to share with."""
    response = _saved_as_region(
        client,
        parties,
        held,
        **{
            "contacts-0-organisation_id": parties.municipality.organisation_id,
            "contacts-0-name": "Omar Lind",
            "contacts-0-phone": "0470-123 45",
        },
    )
    assert 'value="Omar Lind"' in _refused_at(response, "contacts-0-name")
    db_session.expire_all()
    assert db_session.exec(select(PlanContact).where(PlanContact.name == "Omar Lind")).all() == []


def test_the_editor_offers_no_contact_row_for_an_organisation_the_consent_leaves_out(
    client, db_session, parties, held
):
    assert login(client, parties.region_user.username).status_code == 302
    url = f"/cases/{held.uid}/plan"
    form = forms_of(text_of(client.get(url)))[url]
    offered = {
        value for name, value in form if name.startswith("contacts-") and name.endswith("organisation_id")
    }
    assert offered == {str(parties.region.organisation_id), str(parties.school.organisation_id)}
    # The page as it came saves (no row of Växjö kommun to refuse).
    assert client.post(url, data=fill(form, action="save", needs="Stöd i vardagen.")).status_code == 303


def test_an_effort_keeps_an_owner_the_consent_covered_when_it_was_given(
    db_session, registry, parties, create_case
):
    case = create_case()
    walk(db_session, registry, parties.region_user, case, now_utc())
    now = now_utc()
    data = complete_data(case, parties, now)
    data["contacts"].append({"organisation_id": parties.municipality.organisation_id, "name": "Omar Lind"})
    plan = save(db_session, case, parties.region_user, data, now)
    # The consent covering both runs out; a further one covers the region only.
    with unit_of_work(db_session):
        for consent in db_session.exec(select(Consent).where(Consent.case_id == case.id)):
            consent.valid_until = to_local(now).date() - timedelta(days=1)
            db_session.add(consent)
    _further_consent_for_the_region(db_session, case, parties, now)
    from sipflow.plans.editor import plan_data

    data = plan_data(db_session, case, plan)
    data["needs"] = "Stöd i vardagen."
    # The stored effort of Växjö kommun stays as it is: the rest of the plan can still be saved.
    save(db_session, case, parties.region_user, data, now)
    # So does its contact person; a contact of Växjö kommun where there was none is refused.
    assert parties.municipality.organisation_id in {c["organisation_id"] for c in data["contacts"]}
    data = plan_data(db_session, case, plan)
    data["contacts"] = [
        c for c in data["contacts"] if c["organisation_id"] != parties.municipality.organisation_id
    ]
    save(db_session, case, parties.region_user, data, now)
    data = plan_data(db_session, case, plan)
    data["contacts"].append({"organisation_id": parties.municipality.organisation_id, "name": "Omar Lind"})
    with pytest.raises(InvalidInput) as refused:
        save(db_session, case, parties.region_user, data, now)
    assert refused.value.field == f"contacts-{len(data['contacts']) - 1}-name"
    # A new effort for Växjö kommun is refused.
    data = plan_data(db_session, case, plan)
    data["efforts"].append(
        {"kind": "effort", "what": "Ny insats", "organisation_id": parties.municipality.organisation_id}
    )
    with pytest.raises(InvalidInput) as refused:
        save(db_session, case, parties.region_user, data, now)
    assert refused.value.field == f"efforts-{len(data['efforts']) - 1}-organisation_id"


def _effort_choices(page: str, field: str) -> dict[str, tuple[set[str], str | None]]:
    """Each effort row's field (organisation_id, unit_id) on the editor page: its options, and the chosen."""
    found = {}
    for row, options in re.findall(
        rf'<select[^>]*name="efforts-(\d+)-{field}"[^>]*>(.*?)</select>', page, re.S
    ):
        values = re.findall(r'<option[^>]*value="(\d*)"', options)
        chosen = re.findall(
            r'<option[^>]*selected[^>]*value="(\d+)"|<option[^>]*value="(\d+)"[^>]*selected', options
        )
        found[row] = ({v for v in values if v}, next(("".join(c) for c in chosen), None))
    return found


def test_the_editor_offers_no_effort_owner_the_consent_leaves_out(client, parties, held):
    assert login(client, parties.region_user.username).status_code == 302
    page = text_of(client.get(f"/cases/{held.uid}/plan"))
    organisations = _effort_choices(page, "organisation_id")
    units = _effort_choices(page, "unit_id")
    assert organisations and units
    assert {v for offered, _ in organisations.values() for v in offered} == {
        str(parties.region.organisation_id),
        str(parties.school.organisation_id),
    }
    assert {v for offered, _ in units.values() for v in offered} == {
        str(parties.region.id),
        str(parties.school.id),
    }


def test_an_effort_whose_owner_the_consent_no_longer_covers_is_shown_and_saved_as_it_is(
    client, db_session, registry, parties, create_case
):
    """Its row keeps the organisation (and unit) as a choice of its own; no other row is offered it."""
    case = create_case()
    walk(db_session, registry, parties.region_user, case, now_utc())
    now = now_utc()
    municipality = parties.municipality.organisation_id
    data = complete_data(case, parties, now)
    data["efforts"][1]["unit_id"] = parties.municipality.id
    save(db_session, case, parties.region_user, data, now)
    # The consent covering both runs out; a further one covers the region only.
    with unit_of_work(db_session):
        for consent in db_session.exec(select(Consent).where(Consent.case_id == case.id)):
            consent.valid_until = to_local(now).date() - timedelta(days=1)
            db_session.add(consent)
    _further_consent_for_the_region(db_session, case, parties, now)
    assert login(client, parties.region_user.username).status_code == 302
    url = f"/cases/{case.uid}/plan"
    page = text_of(client.get(url))
    organisations = _effort_choices(page, "organisation_id")
    units = _effort_choices(page, "unit_id")
    own = [row for row, (_, chosen) in organisations.items() if chosen == str(municipality)]
    assert len(own) == 1, organisations
    assert str(municipality) in organisations[own[0]][0] and units[own[0]][1] == str(parties.municipality.id)
    others = [offered for row, (offered, _) in organisations.items() if row != own[0]]
    assert others and all(str(municipality) not in offered for offered in others)
    # The page as it came saves, and the effort keeps its owner.
    form = forms_of(page)[url]
    response = client.post(url, data=fill(form, action="save", needs="Stöd i vardagen."))
    assert response.status_code == 303, text_of(response)
    db_session.expire_all()
    effort = db_session.exec(
        select(PlanEffort).where(PlanEffort.what == "Boendestöd två gånger i veckan")
    ).one()
    assert (effort.organisation_id, effort.unit_id) == (municipality, parties.municipality.id)


def _further_consent_for_the_region(db_session, case, parties, now) -> None:
    with unit_of_work(db_session):
        give_consent(
            db_session,
            case,
            parties.region_user,
            {"given_by": "person", "form": "oral", "organisation_ids": [parties.region.organisation_id]},
            now=now,
        )


def test_only_organisations_the_consent_covers_are_asked_to_approve(
    client, db_session, registry, parties, create_case
):
    case = walk_leaving_out_the_municipality(
        db_session,
        registry,
        parties,
        create_case,
        ("start_preparation", "send_kallelse", "hold_meeting", "establish_plan"),
    )
    db_session.expire_all()
    case = db_session.get(SipCase, case.id)
    version = approvals.newest_version(db_session, case)
    asked = [p.label for p in approvals.approval_status(db_session, case, version)]
    assert "Växjö kommun" not in asked and "Region Kronoberg" in asked
    # The version itself (its PDF's table of signatures) names the region only.
    signing = [p["party"] for p in approval_parties(version.content)]
    assert "Växjö kommun" not in signing and "Region Kronoberg" in signing
    assert login(client, parties.region_user.username).status_code == 302
    page = text_of(client.get(f"/cases/{case.uid}"))
    missing = page[page.index("godkännande saknas från") :]
    missing = missing[: missing.index("<")]
    assert "Region Kronoberg" in missing and "Växjö kommun" not in missing
    approvals_page = text_of(client.get(f"/cases/{case.uid}/plan/approvals"))
    table = approvals_page[approvals_page.index('id="h-version-1"') :]
    assert "Region Kronoberg" in table and "Växjö kommun" not in table


def test_every_organisation_the_consent_leaves_out_is_refused_at_once(db_session, parties, held):
    """An effort and a contact of an organisation not covered: both fields marked on the first send."""
    now = now_utc()
    data = complete_data(held, parties, now)
    data["contacts"].append({"organisation_id": parties.municipality.organisation_id, "name": "Omar Lind"})
    with pytest.raises(InvalidInputs) as refused:
        save(db_session, held, parties.region_user, data, now)
    assert {(e.field, str(e.message)) for e in refused.value.errors} == {
        ("efforts-1-organisation_id", REFUSAL),
        ("contacts-1-name", REFUSAL),
    }
    assert all(isinstance(e, access.NotCoveredByConsent) for e in refused.value.errors)


def test_one_field_naming_several_organisations_not_covered_names_them_all(db_session, parties, held):
    """A kallelse to two organisations the consent leaves out: one refusal at the field naming both."""
    pairs = [
        ("invitee_ids", parties.region.organisation_id),
        ("invitee_ids", parties.municipality.organisation_id),
        ("invitee_ids", parties.school.organisation_id),
        ("invitee_ids", parties.municipality.organisation_id),
    ]
    seeing = frozenset({parties.region.organisation_id})
    with pytest.raises(access.NotCoveredByConsent) as refused:
        access.refuse_uncovered(db_session, held, pairs, now=now_utc(), seeing=seeing)
    assert refused.value.field == "invitee_ids"
    assert str(refused.value.message) == (
        "Samtycket omfattar inte Växjö kommun, Katedralskolan, så de kan inte se SIP:en. Registrera först "
        "ett ytterligare samtycke som tar med dem."
    )
