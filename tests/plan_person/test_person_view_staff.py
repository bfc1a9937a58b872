"""Staff reach the person's view and the approvals from the case: only what they may see, all logged."""

from __future__ import annotations

import re
from datetime import timedelta

from personkit import World, add_effort, build_world, freeze
from sqlmodel import select
from support import fire, new_case
from webkit import csrf_token, forms_of, login, text_of

from sipflow.db import unit_of_work
from sipflow.people.models import Organisation
from sipflow.plans import responsibility
from sipflow.plans.models import PlanApproval
from sipflow.plans.services import working_plan
from sipflow.security.audit import ACCESS_DENIED, PLAN_PERSON_VIEW, AccessLogEntry


def log_rows(db_session, action):
    return db_session.exec(select(AccessLogEntry).where(AccessLogEntry.action == action)).all()


def test_the_case_page_links_to_the_persons_view_and_says_whose_approval_is_missing(client, planned):
    login(client, planned.region.user.username)
    page = text_of(client.get(f"/cases/{planned.case.uid}"))
    assert f"/cases/{planned.case.uid}/plan/person" in page
    assert f"/cases/{planned.case.uid}/plan/approvals" in page
    assert "godkännande saknas från" in page and "Testa Person" in page


def test_staff_see_the_persons_plans_they_may_see_and_each_read_is_logged(
    client, db_session, app, registry, now, planned
):
    # A second SIP of the same person, started by an organisation without the region: not the region's to see.
    hidden = build_world(db_session, app, registry, now=now, person=planned.person, kinds=("other", "school"))
    add_effort(db_session, hidden, hidden.region, "Dold insats")
    freeze(db_session, hidden, now=now)
    # A third, started by the municipality with the region taking part: the region sees it under consent.
    shared_case = new_case(
        db_session,
        registry,
        planned.municipality.user,
        workflow="sip",
        person=planned.person,
        unit_ids=[planned.region.unit.id],
        now=now,
    )
    db_session.commit()
    fire(db_session, registry, planned.municipality.user, shared_case, "give_consent", now=now)
    shared = World(shared_case, planned.person, [planned.municipality], None, None, None)
    add_effort(db_session, shared, planned.municipality, "Delad insats")
    freeze(db_session, shared, now=now)
    login(client, planned.region.user.username)
    response = client.get(f"/cases/{planned.case.uid}/plan/person")
    page = text_of(response)
    assert response.status_code == 200
    assert "Samtalsstöd varannan vecka" in page and "Delad insats" in page and "Dold insats" not in page
    assert hidden.case.reference not in page
    assert planned.person.id_number not in page
    rows = log_rows(db_session, PLAN_PERSON_VIEW)
    assert sorted((r.user_id, r.case_id, r.person_id) for r in rows) == sorted(
        (planned.region.user.id, case.id, planned.person.id) for case in (planned.case, shared_case)
    )


def test_a_user_who_may_not_see_the_case_gets_404_and_a_logged_refusal(client, db_session, planned):
    login(client, planned.outsider.user.username)
    for page in ("person", "approvals", "links"):
        assert client.get(f"/cases/{planned.case.uid}/plan/{page}").status_code == 404
    assert len(log_rows(db_session, ACCESS_DENIED)) == 3
    assert log_rows(db_session, PLAN_PERSON_VIEW) == []


def test_a_plan_not_yet_established_says_so(client, db_session, world):
    working_plan(db_session, world.case)
    db_session.commit()
    login(client, world.municipality.user.username)
    page = text_of(client.get(f"/cases/{world.case.uid}/plan/person"))
    assert "Ingen plan är fastställd ännu" in page


def approval_form(client, world):
    page = client.get(f"/cases/{world.case.uid}/plan/approvals")
    assert page.status_code == 200
    return text_of(page), forms_of(text_of(page))


def test_staff_record_their_organisations_approval_and_the_page_shows_it_per_version(
    client, db_session, planned
):
    login(client, planned.municipality.user.username)
    html, _forms = approval_form(client, planned)
    assert "Vår organisation" in html and "Testa Person" in html
    response = client.post(
        f"/cases/{planned.case.uid}/plan/approvals",
        data={
            "csrf_token": csrf_token(html),
            "approval-version_id": str(planned.extra["v1"].id),
            "approval-participant_id": str(planned.municipality.participant.id),
            "approval-method": "meeting",
        },
    )
    assert response.status_code == 303
    approval = db_session.exec(select(PlanApproval)).one()
    assert approval.participant_id == planned.municipality.participant.id
    assert approval.recorded_by_user_id == planned.municipality.user.id and approval.method == "meeting"
    page = text_of(client.get(f"/cases/{planned.case.uid}/plan/approvals"))
    assert "På mötet" in page and "saknas" in page


def test_who_approved_is_chosen_not_taken_from_the_first_option(client, db_session, planned):
    """Nothing is chosen ahead (a click on Record must not record the person's approval for the
    organisation's), and the user's own organisation comes first, whatever order the parties joined in."""
    login(client, planned.municipality.user.username)
    html, forms = approval_form(client, planned)
    url = f"/cases/{planned.case.uid}/plan/approvals"
    options = re.findall(
        r'<option([^>]*)value="([^"]*)"[^>]*>([^<]*)</option>',
        html[html.index('name="approval-participant_id"') :].split("</select>")[0],
    )
    assert [(value, label) for _attrs, value, label in options][:3] == [
        ("", "Välj"),
        (str(planned.municipality.participant.id), "Vår organisation"),
        (str(planned.person_row.id), "Testa Person"),
    ]
    assert [value for attrs, value, _label in options if "selected" in attrs] in ([], [""])
    fields = dict(forms[url])
    response = client.post(url, data={**fields, "approval-method": "meeting"})
    assert response.status_code == 400
    assert "Välj vem som godkände." in text_of(response)
    assert db_session.exec(select(PlanApproval)).all() == []


def test_another_organisations_approval_is_not_offered_and_a_forged_one_is_refused(
    client, db_session, planned
):
    login(client, planned.municipality.user.username)
    html, _forms = approval_form(client, planned)
    response = client.post(
        f"/cases/{planned.case.uid}/plan/approvals",
        data={
            "csrf_token": csrf_token(html),
            "approval-version_id": str(planned.extra["v1"].id),
            "approval-participant_id": str(planned.region.participant.id),
            "approval-method": "paper",
        },
    )
    assert response.status_code == 400
    assert db_session.exec(select(PlanApproval)).all() == []


def test_recording_for_an_outdated_version_is_refused_and_the_choice_kept(client, db_session, planned, now):
    login(client, planned.region.user.username)
    html, _forms = approval_form(client, planned)
    v2 = freeze(db_session, planned, now=now + timedelta(hours=1), trigger="revise_plan")
    response = client.post(
        f"/cases/{planned.case.uid}/plan/approvals",
        data={
            "csrf_token": csrf_token(html),
            "approval-version_id": str(planned.extra["v1"].id),
            "approval-participant_id": str(planned.person_row.id),
            "approval-method": "paper",
        },
    )
    page = text_of(response)
    assert response.status_code == 409
    assert "Planen har ändrats sedan version 1: godkänn den senaste versionen, version 2." in page
    assert db_session.exec(select(PlanApproval)).all() == []
    fields = dict(forms_of(page)[f"/cases/{planned.case.uid}/plan/approvals"])
    assert fields["approval-version_id"] == str(v2.id)
    assert fields["approval-participant_id"] == str(planned.person_row.id)


def test_the_case_page_says_when_every_party_approved(client, db_session, planned, now):
    from sipflow.db import unit_of_work
    from sipflow.plans.approvals import approve_version

    v1 = planned.extra["v1"]
    for participant, user in (
        (planned.region.participant, planned.region.user),
        (planned.municipality.participant, planned.municipality.user),
        (planned.person_row, planned.region.user),
    ):
        with unit_of_work(db_session):
            approve_version(
                db_session,
                case=planned.case,
                version=v1,
                participant=participant,
                method="meeting",
                now=now,
                recorded_by=user,
            )
    login(client, planned.region.user.username)
    page = text_of(client.get(f"/cases/{planned.case.uid}"))
    assert "godkänd av alla parter" in page and "godkännande saknas" not in page


def test_an_established_version_shows_its_own_huvudansvar_after_a_hand_over(client, db_session, planned, now):
    # Version 1 was established with the region holding huvudansvar; the region hands it over afterwards.
    region, municipality = (
        db_session.get(Organisation, org.unit.organisation_id).name
        for org in (planned.region, planned.municipality)
    )
    with unit_of_work(db_session):
        responsibility.give_huvudansvar(
            db_session,
            planned.case,
            planned.region.user,
            organisation_id=planned.municipality.unit.organisation_id,
            reason="Kommunen samordnar",
            expected_version=planned.case.version,
            now=now,
        )
    login(client, planned.region.user.username)
    page = text_of(client.get(f"/cases/{planned.case.uid}/plan/person"))
    held = re.search(r"<dd><strong>([^<]*)</strong>", page).group(1)
    assert held == region
    assert f"Sedan denna version har {municipality} huvudansvaret." in page
