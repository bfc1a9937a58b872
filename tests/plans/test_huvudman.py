"""Only a huvudman (the region or the municipality) has overall responsibility: the hand-over offers and
accepts no other organisation, the first assignment of a script skips one, the plan step refuses a plan whose
holder is none, and the synthetic demo gives it to none."""

from __future__ import annotations

import re

import pytest
from plankit import complete_data, give_huvudansvar, save, walk
from sqlmodel import select
from webkit import fill, forms_of, login, text_of

from sipflow.cases.errors import GuardFailed
from sipflow.cases.models import Participant, SipCase
from sipflow.cases.scripted import fire_scripted
from sipflow.clock import now_utc
from sipflow.db import unit_of_work
from sipflow.demo import load_demo, load_synthetic_cases
from sipflow.errors import InvalidInput
from sipflow.people.models import Organisation
from sipflow.plans import responsibility
from sipflow.plans.inputs import scripted_plan
from sipflow.plans.models import HuvudansvarTransfer
from sipflow.plans.services import find_plan

pytestmark = pytest.mark.usefixtures("frozen_clock")


@pytest.fixture
def with_others(db_session, registry, parties, create_case):
    """A held SIP the school and an agency (Försäkringskassan) take part in besides the two huvudmän."""
    case = create_case(units=[parties.municipality.id, parties.school.id, parties.outsider.id])
    return walk(db_session, registry, parties.region_user, case, now_utc())


def holder(db_session, case) -> int | None:
    db_session.expire_all()
    return db_session.exec(
        select(Participant.organisation_id).where(
            Participant.case_id == case.id, Participant.role == "huvudansvarig"
        )
    ).first()


@pytest.mark.parametrize("party", ["school", "outsider"])
def test_an_organisation_that_is_no_huvudman_cannot_get_it(db_session, parties, with_others, party):
    organisation_id = getattr(parties, party).organisation_id
    with pytest.raises(InvalidInput) as refused:
        give_huvudansvar(db_session, with_others, parties.region_user, organisation_id, now_utc())
    assert refused.value.field == "organisation_id"
    assert "huvudman" in str(refused.value.message)
    assert holder(db_session, with_others) is None
    assert db_session.exec(select(HuvudansvarTransfer)).all() == []


def test_the_page_offers_only_the_huvudmen_and_refuses_another_at_the_field(
    client, db_session, parties, with_others
):
    assert login(client, parties.region_user.username).status_code == 302
    plan_url = f"/cases/{with_others.uid}/plan"
    html = text_of(client.get(plan_url))
    offered = re.search(r'<select[^>]*name="handover-organisation_id".*?</select>', html, re.S).group(0)
    values = set(re.findall(r'value="(\d+)"', offered))
    assert values == {str(parties.region.organisation_id), str(parties.municipality.organisation_id)}
    # Sent anyway (an old page, a crafted request): refused beside the select, nothing given.
    form = forms_of(html)[f"{plan_url}/huvudansvar"]
    response = client.post(
        f"{plan_url}/huvudansvar",
        data=fill(form, **{"handover-organisation_id": parties.outsider.organisation_id}),
    )
    assert response.status_code == 400
    page = text_of(response)
    error = re.search(r'id="handover-organisation_id-error">\s*<li>([^<]+)</li>', page).group(1)
    assert error == "Huvudansvaret ges till en huvudman: regionen eller kommunen."
    assert holder(db_session, with_others) is None


def test_a_plan_held_by_an_agency_is_not_established_and_the_page_names_it(
    client, db_session, registry, parties, with_others
):
    # As a plan given to an agency before the rule was: the role is on Försäkringskassan's participant.
    now = now_utc()
    save(db_session, with_others, parties.region_user, complete_data(with_others, parties, now), now)
    with unit_of_work(db_session):
        for participant in db_session.exec(
            select(Participant).where(
                Participant.case_id == with_others.id,
                Participant.organisation_id == parties.outsider.organisation_id,
            )
        ).all():
            participant.role = "huvudansvarig"
            db_session.add(participant)
    assert login(client, parties.region_user.username).status_code == 302
    html = text_of(client.get(f"/cases/{with_others.uid}/plan"))
    agency = db_session.get(Organisation, parties.outsider.organisation_id).name
    assert f"{agency} har huvudansvaret men är ingen huvudman" in html
    row_version = find_plan(db_session, with_others).row_version
    with pytest.raises(GuardFailed) as refused, unit_of_work(db_session):
        fire_scripted(
            db_session,
            registry,
            parties.region_user,
            with_others,
            "establish_plan",
            now=now,
            data={"plan_row_version": row_version},
        )
    assert refused.value.guard == "huvudansvar_assigned"
    assert db_session.get(SipCase, with_others.id).state == "meeting_held"
    # Handed over to a huvudman (with a reason: it is a hand-over), the plan can be established.
    give_huvudansvar(
        db_session, with_others, parties.region_user, parties.municipality.organisation_id, now, reason="Fel"
    )
    assert holder(db_session, with_others) == parties.municipality.organisation_id


def test_a_script_gives_it_to_a_huvudman_when_the_school_started_the_sip(
    db_session, registry, parties, create_case
):
    case = create_case(
        "sip_child", actor=parties.school_user, units=[parties.region.id, parties.municipality.id]
    )
    walk(db_session, registry, parties.school_user, case, now_utc())
    with unit_of_work(db_session):
        scripted_plan(db_session, case, now_utc())
    assert holder(db_session, case) in {parties.region.organisation_id, parties.municipality.organisation_id}
    # Named outright, one that is no huvudman is refused.
    other = create_case(actor=parties.school_user, units=[parties.region.id])
    with pytest.raises(InvalidInput), unit_of_work(db_session):
        responsibility.give_first_huvudansvar_unclaimed(
            db_session, other, None, organisation_id=parties.school.organisation_id, now=now_utc()
        )


def test_the_demo_gives_it_to_huvudmen_only(app_ctx, db_session):
    # The personas' plans, and the synthetic child SIPs, mostly started by the school: it used to keep
    # huvudansvar in most of them.
    load_demo()
    load_synthetic_cases(150, seed=3)
    kinds = db_session.exec(
        select(Organisation.kind, SipCase.occasion)
        .join(Participant, Participant.organisation_id == Organisation.id)
        .join(SipCase, SipCase.id == Participant.case_id)
        .where(Participant.role == "huvudansvarig")
    ).all()
    assert "child" in {occasion for _, occasion in kinds}
    assert {kind for kind, _ in kinds} <= responsibility.HUVUDMAN_KINDS
