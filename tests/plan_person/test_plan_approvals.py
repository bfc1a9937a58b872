"""Approvals: each organisation and the person approve a version; a new version needs them again."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from personkit import add_guardian, build_world, freeze
from sqlmodel import select

from sipflow.db import unit_of_work
from sipflow.errors import Conflict, InvalidInput, NotAllowed
from sipflow.plans.approvals import (
    NotTakingPart,
    OutdatedVersion,
    approval_status,
    approve_version,
    may_record_for,
)
from sipflow.plans.models import PlanApproval


def approve(db_session, world, version, participant, *, method="meeting", by=None, now, digital=False):
    with unit_of_work(db_session):
        return approve_version(
            db_session,
            case=world.case,
            version=version,
            participant=participant,
            method="digital" if digital else method,
            now=now,
            recorded_by=None if digital else (by or world.region.user),
        )


def status_of(db_session, world, version) -> dict:
    return {p.label: p.approval for p in approval_status(db_session, world.case, version)}


def test_each_party_approves_and_the_status_shows_who_is_missing(db_session, planned, now):
    v1 = planned.extra["v1"]
    approve(db_session, planned, v1, planned.region.participant, now=now)
    approve(db_session, planned, v1, planned.person_row, now=now + timedelta(hours=1), digital=True)

    status = approval_status(db_session, planned.case, v1)
    by_label = {p.label: p for p in status}
    region_name = planned.region.unit.organisation_id
    assert [p.kind for p in status] == ["organisation", "organisation", "person"]
    assert {p.organisation_id for p in status if p.kind == "organisation"} == {
        region_name,
        planned.municipality.unit.organisation_id,
    }
    person = by_label["Testa Person"]
    assert person.approval.method == "digital" and person.approval.recorded_by_user_id is None
    missing = [p for p in status if p.approval is None]
    assert [p.organisation_id for p in missing] == [planned.municipality.unit.organisation_id]


def test_approving_an_outdated_version_is_refused_with_a_clear_message(db_session, planned, now):
    v1 = planned.extra["v1"]
    freeze(db_session, planned, now=now + timedelta(days=1), trigger="revise_plan")
    with pytest.raises(OutdatedVersion) as refused:
        approve(db_session, planned, v1, planned.person_row, now=now, digital=True)
    assert isinstance(refused.value, Conflict) and refused.value.status == 409
    assert "version 1" in str(refused.value.message) and "version 2" in str(refused.value.message)
    assert db_session.exec(select(PlanApproval)).all() == []


def test_a_new_version_needs_the_persons_approval_again(db_session, planned, now):
    v1 = planned.extra["v1"]
    approve(db_session, planned, v1, planned.person_row, now=now, digital=True)
    v2 = freeze(db_session, planned, now=now + timedelta(days=30), trigger="revise_plan")

    assert status_of(db_session, planned, v1)["Testa Person"] is not None
    assert status_of(db_session, planned, v2)["Testa Person"] is None
    approve(db_session, planned, v2, planned.person_row, now=now + timedelta(days=31), digital=True)
    assert status_of(db_session, planned, v2)["Testa Person"].version_id == v2.id


def test_approving_twice_keeps_the_first_approval(db_session, planned, now):
    v1 = planned.extra["v1"]
    first = approve(db_session, planned, v1, planned.person_row, now=now, digital=True)
    again = approve(db_session, planned, v1, planned.person_row, now=now + timedelta(hours=2), method="paper")
    assert again.id == first.id and again.method == "digital"
    assert len(db_session.exec(select(PlanApproval)).all()) == 1


def test_a_participant_no_longer_taking_part_cannot_approve(db_session, planned, now):
    v1 = planned.extra["v1"]
    row = planned.municipality.participant
    row.removed_at = now
    db_session.add(row)
    db_session.commit()
    with pytest.raises(NotTakingPart):
        approve(db_session, planned, v1, row, by=planned.municipality.user, now=now)


def test_staff_record_only_their_own_organisation_and_the_person(db_session, planned, now):
    v1 = planned.extra["v1"]
    with pytest.raises(NotAllowed):
        approve(db_session, planned, v1, planned.municipality.participant, by=planned.region.user, now=now)
    with pytest.raises(NotAllowed):
        approve(db_session, planned, v1, planned.person_row, by=planned.outsider.user, now=now)
    by = planned.municipality.user
    approve(db_session, planned, v1, planned.person_row, by=by, method="paper", now=now)
    approval = status_of(db_session, planned, v1)["Testa Person"]
    assert approval.method == "paper" and approval.recorded_by_user_id == planned.municipality.user.id


def test_a_narstaende_does_not_approve_and_staff_do_not_approve_digitally(db_session, planned, now):
    v1 = planned.extra["v1"]
    with pytest.raises(NotAllowed):
        approve(db_session, planned, v1, planned.relative, digital=True, now=now)
    with pytest.raises(InvalidInput):
        approve(db_session, planned, v1, planned.region.participant, digital=True, now=now)
    with pytest.raises(InvalidInput):
        approve(db_session, planned, v1, planned.region.participant, method="telepathy", now=now)


def test_a_guardian_approves_on_a_childs_behalf(db_session, app, registry, now):

    world = build_world(db_session, app, registry, now=now, birth=date(2014, 3, 1), workflow="sip")
    guardian = add_guardian(db_session, registry, world, now=now)
    version = freeze(db_session, world, now=now)
    assert may_record_for(db_session, world.case, guardian, world.region.user, today=now.date())
    approve(db_session, world, version, guardian, digital=True, now=now)
    person = next(p for p in approval_status(db_session, world.case, version) if p.kind == "person")
    assert person.approval.participant_id == guardian.id and person.given_by == "Maria Förälder"


def test_a_guardian_of_an_adult_does_not_approve_for_them(db_session, app, registry, planned, now):
    guardian = add_guardian(db_session, registry, planned, now=now, name="Gammal Förmyndare", email=None)
    assert not may_record_for(db_session, planned.case, guardian, planned.region.user, today=now.date())
    assert not may_record_for(
        db_session, planned.case, planned.relative, planned.region.user, today=now.date()
    )
    with pytest.raises(NotAllowed):
        approve(db_session, planned, planned.extra["v1"], guardian, digital=True, now=now)


def test_when_every_party_approved_nothing_is_missing(db_session, planned, now):
    v1 = planned.extra["v1"]
    approve(db_session, planned, v1, planned.region.participant, now=now)
    approve(db_session, planned, v1, planned.municipality.participant, by=planned.municipality.user, now=now)
    approve(db_session, planned, v1, planned.person_row, method="paper", now=now)
    assert all(party.approval is not None for party in approval_status(db_session, planned.case, v1))
