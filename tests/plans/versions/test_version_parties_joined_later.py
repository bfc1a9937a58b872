"""A version's parties are those it was established with (its PDF's approvals table): an organisation that
joins the SIP afterwards is not asked to approve it, nor may it record an approval the document would never
show; the next version, established with it taking part, asks it."""

from __future__ import annotations

from datetime import timedelta

import pytest
import support
from sqlmodel import select
from versionkit import pdf_text, revise_plan_content
from webkit import fill, forms_of, login, text_of

from sipflow.cases.models import Participant
from sipflow.cases.scripted import scripted_input
from sipflow.cases.services import add_unit_participant
from sipflow.consent.services import record_further_consent
from sipflow.db import unit_of_work
from sipflow.errors import NotAllowed
from sipflow.plans import approvals
from sipflow.plans.versions import recorded_approvals, version_pdf


@pytest.fixture
def joined_after_version_1(db_session, registry, parties, established, now):
    """Version 1 established; then Försäkringskassan (the outsider) joins and a further consent covers it."""
    case = established.case
    at = now + timedelta(hours=2)
    with unit_of_work(db_session):
        add_unit_participant(db_session, registry, case, parties.outsider.id, now=at)
    organisations = [p.organisation_id for p in (parties.region, parties.municipality, parties.outsider)]
    data = scripted_input(db_session, case, "consent", at) | {"organisation_ids": organisations}
    with unit_of_work(db_session):
        db_session.refresh(case)
        record_further_consent(
            db_session, registry, case, parties.region_user, data, expected_version=case.version, now=at
        )
    row = db_session.exec(
        select(Participant).where(
            Participant.case_id == case.id, Participant.organisation_id == parties.outsider.organisation_id
        )
    ).one()
    return established, row, at


def test_an_organisation_joining_after_a_version_is_not_asked_to_approve_it(
    db_session, parties, joined_after_version_1
):
    established, _row, at = joined_after_version_1
    version = approvals.newest_version(db_session, established.case)
    labels = [p.label for p in approvals.approval_status(db_session, established.case, version, now=at)]
    assert "Försäkringskassan" not in labels
    assert len(labels) == 3  # the region, the municipality and the person, as its PDF's approvals table


def test_its_approval_of_that_version_is_refused_and_the_pdf_keeps_its_parties(
    db_session, parties, joined_after_version_1, tmp_path
):
    established, row, at = joined_after_version_1
    case = established.case
    version = approvals.newest_version(db_session, case)
    with pytest.raises(NotAllowed), unit_of_work(db_session):
        approvals.approve_version(
            db_session,
            case=case,
            version=version,
            participant=row,
            method="paper",
            now=at,
            recorded_by=parties.outsider_user,
        )
    assert recorded_approvals(db_session, version) == []
    approvals_table = pdf_text(version_pdf(db_session, version), tmp_path).rsplit("Godkännande", 1)[1]
    assert "Försäkringskassan" not in approvals_table and "Växjö kommun" in approvals_table


def test_the_case_page_does_not_list_it_as_missing_the_approval_of_that_version(
    client, parties, joined_after_version_1
):
    established, _row, _at = joined_after_version_1
    assert login(client, parties.region_user.username).status_code == 302
    page = text_of(client.get(f"/cases/{established.case.uid}"))
    missing = page.split("godkännande saknas från", 1)[1].split("\n", 1)[0]
    assert "Försäkringskassan" not in missing and "Växjö kommun" in missing


def test_the_next_version_asks_it(db_session, registry, parties, joined_after_version_1, now):
    established, row, at = joined_after_version_1
    case = established.case
    support.fire(db_session, registry, parties.region_user, case, "follow_up", now=at + timedelta(days=1))
    revise_plan_content(db_session, established.plan, parties)
    support.fire(
        db_session, registry, parties.region_user, case, "revise_plan", now=at + timedelta(days=1, hours=1)
    )
    version = approvals.newest_version(db_session, case)
    labels = [p.label for p in approvals.approval_status(db_session, case, version, now=at)]
    assert "Försäkringskassan" in labels
    with unit_of_work(db_session):
        approvals.approve_version(
            db_session,
            case=case,
            version=version,
            participant=row,
            method="paper",
            now=at + timedelta(days=2),
            recorded_by=parties.outsider_user,
        )


def test_its_staff_are_not_offered_their_organisation_on_the_approvals_page(
    client, parties, joined_after_version_1
):
    established, row, _at = joined_after_version_1
    assert login(client, parties.outsider_user.username).status_code == 302
    url = f"/cases/{established.case.uid}/plan/approvals"
    page = client.get(url).get_data(as_text=True)
    assert support.option_labels(page, "approval-participant_id") == ["Välj", "Åsa Öberg-Ängström"]
    # A form sent all the same (a page from another tab) is refused with the reason, nothing recorded.
    data = fill(forms_of(page)[url], **{"approval-participant_id": row.id, "approval-method": "paper"})
    refused = client.post(url, data=data)
    assert refused.status_code == 403
    assert "inte part i SIP:en när version 1 fastställdes" in text_of(refused)
