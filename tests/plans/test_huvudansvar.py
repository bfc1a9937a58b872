"""Huvudansvar moves on purpose: its own action, only by the parties allowed, logged, on the timeline,
and visible in the receiving organisation's Mina SIP."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from plankit import complete_data, give_huvudansvar, save
from sqlmodel import select
from webkit import FreshContextClient, fill, forms_of, login, text_of

from sipflow.cases.errors import StaleCase
from sipflow.cases.models import CaseVisibility, Participant, SipCase
from sipflow.clock import now_utc
from sipflow.errors import InvalidInput, NotAllowed
from sipflow.people.models import Organisation, User
from sipflow.plans.editor import PlanConflict
from sipflow.plans.models import HuvudansvarTransfer
from sipflow.plans.services import find_plan

pytestmark = pytest.mark.usefixtures("frozen_clock")


def roles(db_session, case):
    db_session.expire_all()
    rows = db_session.exec(
        select(Participant).where(Participant.case_id == case.id, Participant.kind == "organisation")
    )
    return {p.organisation_id: p.role for p in rows}


def test_the_first_assignment_and_a_hand_over_are_logged_and_move_the_role(
    db_session, parties, held, frozen_clock
):
    region, municipality = parties.region.organisation_id, parties.municipality.organisation_id
    version = held.version
    give_huvudansvar(db_session, held, parties.region_user, region, now_utc())
    assert roles(db_session, held) == {region: "huvudansvarig", municipality: "participant"}
    frozen_clock.advance(timedelta(minutes=5))
    at = now_utc()
    give_huvudansvar(
        db_session, held, parties.region_user, municipality, at, reason="Kommunen samordnar boendet"
    )
    assert roles(db_session, held) == {region: "initiator", municipality: "huvudansvarig"}
    transfers = db_session.exec(
        select(HuvudansvarTransfer)
        .where(HuvudansvarTransfer.case_id == held.id)
        .order_by(HuvudansvarTransfer.id)
    ).all()
    assert [(t.from_organisation_id, t.to_organisation_id, t.reason) for t in transfers] == [
        (None, region, None),
        (region, municipality, "Kommunen samordnar boendet"),
    ]
    assert (transfers[1].user_id, transfers[1].at) == (parties.region_user.id, at)
    case = db_session.get(SipCase, held.id)
    assert case.version == version + 2 and case.updated_at == at
    visibility = db_session.exec(
        select(CaseVisibility.updated_at).where(CaseVisibility.case_id == held.id)
    ).all()
    assert set(visibility) == {at}


def test_a_hand_over_needs_a_reason(db_session, parties, held):
    give_huvudansvar(db_session, held, parties.region_user, parties.region.organisation_id, now_utc())
    with pytest.raises(InvalidInput) as refused:
        give_huvudansvar(
            db_session, held, parties.region_user, parties.municipality.organisation_id, now_utc()
        )
    assert refused.value.field == "reason"
    assert roles(db_session, held)[parties.region.organisation_id] == "huvudansvarig"


@pytest.mark.parametrize("target", ["outsider", "unknown", "text"])
def test_only_an_organisation_taking_part_can_get_it(db_session, parties, held, target):
    organisation_id = {"outsider": parties.outsider.organisation_id, "unknown": 999_999, "text": "1"}[target]
    with pytest.raises(InvalidInput) as refused:
        give_huvudansvar(db_session, held, parties.region_user, organisation_id, now_utc())
    assert refused.value.field == "organisation_id"
    assert db_session.exec(select(HuvudansvarTransfer)).all() == []


def test_an_organisation_the_consent_does_not_cover_cannot_get_it(
    client, db_session, registry, parties, held
):
    # Another municipality joins after the consent was recorded: it takes part but cannot see the SIP.
    import support

    from sipflow.cases.services import add_unit_participant
    from sipflow.db import unit_of_work

    with unit_of_work(db_session):
        joining = support.new_unit(db_session, "municipality", "Alvesta kommun")
        add_unit_participant(db_session, registry, held, joining.id, now=now_utc())
    joining = joining.organisation_id
    with pytest.raises(InvalidInput) as refused:
        give_huvudansvar(db_session, held, parties.region_user, joining, now_utc())
    assert refused.value.field == "organisation_id" and "samtycke" in str(refused.value.message).lower()
    assert db_session.exec(select(HuvudansvarTransfer)).all() == []
    # The page offers only the organisations that can see the SIP.
    login(client, parties.region_user.username)
    page = text_of(client.get(f"/cases/{held.uid}/plan"))
    offered = re.search(r'<select[^>]*name="handover-organisation_id".*?</select>', page, re.S).group(0)
    assert f'value="{parties.municipality.organisation_id}"' in offered
    assert f'value="{joining}"' not in offered


def test_a_participant_without_the_role_may_not_hand_it_over(db_session, parties, held):
    with pytest.raises(NotAllowed):
        give_huvudansvar(
            db_session, held, parties.municipality_user, parties.municipality.organisation_id, now_utc()
        )
    give_huvudansvar(db_session, held, parties.region_user, parties.municipality.organisation_id, now_utc())
    # Now holding it, the municipality may hand it on (back to the region, with a reason).
    give_huvudansvar(
        db_session, held, parties.municipality_user, parties.region.organisation_id, now_utc(), reason="Åter"
    )
    assert roles(db_session, held)[parties.region.organisation_id] == "huvudansvarig"


def test_a_stale_page_is_a_conflict(db_session, parties, held):
    from sipflow.db import unit_of_work
    from sipflow.plans.responsibility import give_huvudansvar as give

    with pytest.raises(StaleCase), unit_of_work(db_session):
        give(
            db_session,
            held,
            parties.region_user,
            organisation_id=parties.region.organisation_id,
            reason=None,
            expected_version=held.version - 1,
            now=now_utc(),
        )
    assert db_session.exec(select(HuvudansvarTransfer)).all() == []


def test_the_receiving_organisation_sees_the_mark_in_its_list_and_the_timeline_shows_it(
    client, db_session, parties, held
):
    assert login(client, parties.region_user.username).status_code == 302
    plan_url = f"/cases/{held.uid}/plan"
    form = forms_of(text_of(client.get(plan_url)))[f"{plan_url}/huvudansvar"]
    municipality = parties.municipality.organisation_id
    # A hand-over from nobody: the first assignment needs no reason.
    response = client.post(
        f"{plan_url}/huvudansvar", data=fill(form, **{"handover-organisation_id": municipality})
    )
    assert response.status_code == 303
    case_page = text_of(client.get(f"/cases/{held.uid}"))
    assert "Växjö kommun" in case_page and ("given to" in case_page or "gavs till" in case_page)
    # The one who gave it is named with their organisation, as every other timeline entry names its actor.
    region = db_session.get(Organisation, parties.region.organisation_id).name
    event = case_page.index("<strong>Huvudansvar</strong>:")
    entry = case_page[case_page.rindex("timeline-head", 0, event) : event]
    head = re.search(r'<span class="muted">([^<]*)</span>', entry).group(1)
    assert head == f"{parties.region_user.display_name}, {region}"
    other = FreshContextClient(client.application, client.application.response_class, use_cookies=True)
    assert login(other, parties.municipality_user.username).status_code == 302
    listing = text_of(other.get("/cases"))
    row = listing[listing.index(held.reference) :][:400]
    assert "huvudansvar</span>" in row
    mine = text_of(client.get("/cases"))
    assert "huvudansvar</span>" not in mine[mine.index(held.reference) :][:400]


def test_the_timeline_names_the_organisation_the_hand_over_was_made_for_though_its_user_moved_since(
    client, db_session, parties, held, make_unit
):
    region = db_session.get(Organisation, parties.region.organisation_id).name
    give_huvudansvar(db_session, held, parties.region_user, parties.municipality.organisation_id, now_utc())
    transfer = db_session.exec(
        select(HuvudansvarTransfer).where(HuvudansvarTransfer.case_id == held.id)
    ).one()
    assert transfer.organisation_id == parties.region.organisation_id
    # The user moves to another organisation: the hand-over was still made for the region.
    moved = db_session.get(User, parties.region_user.id)
    moved.unit_id = make_unit("municipality", "Alvesta kommun").id
    db_session.add(moved)
    db_session.commit()
    assert login(client, parties.municipality_user.username).status_code == 302
    case_page = text_of(client.get(f"/cases/{held.uid}"))
    event = case_page.index("<strong>Huvudansvar</strong>:")
    entry = case_page[case_page.rindex("timeline-head", 0, event) : event]
    head = re.search(r'<span class="muted">([^<]*)</span>', entry).group(1)
    assert head == f"{parties.region_user.display_name}, {region}"


def test_a_hand_over_without_a_reason_is_refused_at_the_field_on_the_page(client, db_session, parties, held):
    give_huvudansvar(db_session, held, parties.region_user, parties.region.organisation_id, now_utc())
    assert login(client, parties.region_user.username).status_code == 302
    plan_url = f"/cases/{held.uid}/plan"
    form = forms_of(text_of(client.get(plan_url)))[f"{plan_url}/huvudansvar"]
    response = client.post(
        f"{plan_url}/huvudansvar",
        data=fill(form, **{"handover-organisation_id": parties.municipality.organisation_id}),
    )
    assert response.status_code == 400
    assert 'id="handover-reason-error"' in text_of(response)
    assert roles(db_session, held)[parties.region.organisation_id] == "huvudansvarig"


def test_a_hand_over_clears_the_old_organisations_contact_and_keeps_it_in_its_record(
    client, db_session, parties, held
):
    now = now_utc()
    give_huvudansvar(db_session, held, parties.region_user, parties.region.organisation_id, now)
    save(db_session, held, parties.region_user, complete_data(held, parties, now), now)
    stale = find_plan(db_session, held).row_version
    assert login(client, parties.region_user.username).status_code == 302
    plan_url = f"/cases/{held.uid}/plan"
    form = forms_of(text_of(client.get(plan_url)))[f"{plan_url}/huvudansvar"]
    response = client.post(
        f"{plan_url}/huvudansvar",
        data=fill(
            form,
            **{
                "handover-organisation_id": parties.municipality.organisation_id,
                "handover-reason": "Boendet",
            },
        ),
        follow_redirects=True,
    )
    page = text_of(response)
    assert "Kontakt: Anna Ek" not in page and "Contact: Anna Ek" not in page
    assert "kontakten är borttagen" in page
    assert "Kontakten togs bort: Anna Ek, 0470-123 45." in page
    db_session.expire_all()
    plan = find_plan(db_session, held)
    assert plan.huvudansvar_contact is None and plan.row_version == stale + 1
    transfer = db_session.exec(select(HuvudansvarTransfer).order_by(HuvudansvarTransfer.id.desc())).first()
    assert transfer.cleared_contact == "Anna Ek, 0470-123 45"
    # An editor still showing the old contact gets a conflict instead of saving it back.
    with pytest.raises(PlanConflict):
        save(db_session, held, parties.region_user, complete_data(held, parties, now), now, expected=stale)


def test_the_first_assignment_keeps_the_contact(db_session, parties, held):
    now = now_utc()
    save(db_session, held, parties.region_user, complete_data(held, parties, now), now)
    give_huvudansvar(db_session, held, parties.region_user, parties.region.organisation_id, now)
    db_session.expire_all()
    assert find_plan(db_session, held).huvudansvar_contact == "Anna Ek, 0470-123 45"
