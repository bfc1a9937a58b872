"""Establishing and revising a plan freeze a version: content, PDF and checksum, older versions unchanged."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from pathlib import Path

import pytest
import support
from sqlmodel import Session, select
from versionkit import TEXTS

from sipflow.areas import load_areas
from sipflow.cases.models import Participant
from sipflow.config import PROJECT_ROOT
from sipflow.db import unit_of_work
from sipflow.errors import UserError
from sipflow.people.models import Organisation, Unit
from sipflow.plans.content import plan_content, plan_items, read_plan_rows
from sipflow.plans.models import PlanEffort, PlanGoal, PlanVersion
from sipflow.plans.pdf import render_plan_pdf
from sipflow.plans.versions import freeze_version, pdf_matches, version_summaries
from sipflow.workflow.definition import load_workflow_file

FREEZING_TRIGGERS = ("establish_plan", "revise_plan")


def versions_of(session, case) -> list[PlanVersion]:
    return list(
        session.exec(select(PlanVersion).where(PlanVersion.case_id == case.id).order_by(PlanVersion.number))
    )


@pytest.mark.parametrize("path", sorted((PROJECT_ROOT / "workflows").glob("*.toml")), ids=lambda p: p.name)
def test_every_workflow_file_freezes_a_version_when_a_plan_is_established_or_revised(path: Path):
    load_areas()
    workflow = load_workflow_file(path)
    for trigger in FREEZING_TRIGGERS:
        transitions = [t for t in workflow.transitions if t.trigger == trigger]
        assert transitions, f"{path.name} has no {trigger}"
        assert all("freeze_plan_version" in t.effects for t in transitions)


def test_establishing_the_plan_freezes_version_1(db_session, parties, established, now):
    case = established.case
    [version] = versions_of(db_session, case)
    assert version.number == 1
    assert version.trigger == "establish_plan"
    assert version.established_by_user_id == parties.region_user.id
    content = version.content
    assert content["version"] == 1
    assert content["approvals"] == []
    assert content["established_by"]["name"] == parties.region_user.display_name
    # The frozen content is the plan's one shape, with the version's own keys beside it.
    expected = plan_content(db_session, case, established.plan)
    assert {k: content[k] for k in expected} == expected
    assert content["own_goals"][0]["text"] == TEXTS["own_goal_1"]
    assert version.pdf.startswith(b"%PDF")
    assert version.pdf_sha256 == hashlib.sha256(version.pdf).hexdigest()


def test_the_stored_checksum_matches_a_pdf_rendered_again_from_the_stored_content(engine, established):
    # A fresh session reads the content back from the database (JSON), as a later reader would.
    with Session(engine) as fresh:
        [version] = versions_of(fresh, established.case)
        again = render_plan_pdf(version.content)
        assert hashlib.sha256(again).hexdigest() == version.pdf_sha256
        assert again == version.pdf
        assert pdf_matches(version)


def test_revising_freezes_version_2_and_leaves_version_1_as_it_was(
    db_session, registry, parties, established, now
):
    case, plan = established.case, established.plan
    [first] = versions_of(db_session, case)
    first_content, first_pdf = dict(first.content), bytes(first.pdf)
    support.fire(db_session, registry, parties.region_user, case, "follow_up", now=now + timedelta(days=1))
    goal = db_session.exec(
        select(PlanGoal).where(PlanGoal.plan_id == plan.id, PlanGoal.kind == "own")
    ).first()
    db_session.delete(goal)
    db_session.add(
        PlanEffort(plan_id=plan.id, what="Träning på gymmet", organisation_id=parties.region.organisation_id)
    )
    db_session.commit()
    support.fire(
        db_session,
        registry,
        parties.region_user,
        case,
        "revise_plan",
        now=now + timedelta(days=1, hours=1),
    )
    db_session.expire_all()
    first_again, second = versions_of(db_session, case)
    assert (first_again.content, first_again.pdf) == (first_content, first_pdf)
    assert second.number == 2
    assert second.trigger == "revise_plan"
    assert second.established_by_user_id == parties.region_user.id
    assert "Träning på gymmet" in [e["what"] for e in second.content["efforts"]]
    assert goal.text not in [g["text"] for g in second.content["own_goals"]]
    assert [s.number for s in version_summaries(db_session, case)] == [2, 1]


def test_a_refused_establishment_freezes_nothing(db_session, registry, parties, planned, now):
    # A follow-up day already passed: the workflow's guard refuses the step, and nothing is frozen.
    with unit_of_work(db_session):
        planned.plan.follow_up_on = (now - timedelta(days=1)).date()
        db_session.add(planned.plan)
    with pytest.raises(UserError):
        support.fire(
            db_session,
            registry,
            parties.region_user,
            planned.case,
            "establish_plan",
            now=now + timedelta(hours=1),
            data={"plan_row_version": planned.plan.row_version},
        )
    assert versions_of(db_session, planned.case) == []


def test_approvals_recorded_in_the_same_step_are_in_the_frozen_content(db_session, parties, planned, now):
    person_row = next(
        p
        for p in plan_content(db_session, planned.case, planned.plan)["participants"]
        if p["kind"] == "person"
    )
    version = freeze_version(
        db_session,
        planned.case,
        trigger="establish_plan",
        actor=parties.region_user,
        now=now,
        approvals=[{"participant_id": person_row["participant_id"], "method": "meeting", "approved_at": now}],
    )
    assert version.content["approvals"] == [
        {"participant_id": person_row["participant_id"], "method": "meeting", "approved_at": now.isoformat()}
    ]


def _names_from_objects(db_session, model, ids) -> dict:
    return {i: db_session.get(model, i).name for i in ids if i is not None}


def test_the_frozen_content_is_what_the_plans_objects_say_key_for_key(db_session, established):
    # The freeze reads goals, efforts, contacts and names as plain rows (contacts and names in one UNION):
    # the content must be what the ORM objects give, in the same key order (the PDF and JSON bytes).
    case, plan = established.case, established.plan
    [version] = versions_of(db_session, case)
    goals, efforts, contacts = plan_items(db_session, plan)
    participants = db_session.exec(
        select(Participant).where(Participant.case_id == case.id, Participant.active).order_by(Participant.id)
    ).all()
    organisations = _names_from_objects(
        db_session,
        Organisation,
        {e.organisation_id for e in efforts}
        | {c.organisation_id for c in contacts}
        | {p.organisation_id for p in participants},
    )
    units = _names_from_objects(
        db_session, Unit, {e.unit_id for e in efforts} | {p.unit_id for p in participants}
    )
    content = version.content
    assert list(content) == [
        "format", "case_reference", "person", "needs", "own_goals", "professional_goals", "efforts",
        "no_other_measures", "huvudansvar", "fast_vardkontakt", "fast_omsorgskontakt", "contacts",
        "follow_up_on", "child_view", "child_view_missing_reason", "participants",
        "version", "trigger", "established_at", "established_by", "approvals", "guardians_approving",
        "sip_kind",
    ]  # fmt: skip
    assert content["own_goals"] == [{"uid": g.uid, "text": g.text} for g in goals if g.kind == "own"]
    assert [(e["uid"], e["organisation"], e["unit"], e["starts_on"]) for e in content["efforts"]] == [
        (
            e.uid,
            organisations.get(e.organisation_id),
            units.get(e.unit_id),
            e.starts_on.isoformat() if e.starts_on else None,
        )
        for e in efforts
    ]
    expected_contacts = sorted(
        (
            {
                "organisation_id": c.organisation_id,
                "organisation": organisations[c.organisation_id],
                "name": c.name,
                "phone": c.phone,
                "email": c.email,
            }
            for c in contacts
        ),
        key=lambda c: (c["organisation"], c["organisation_id"]),
    )
    assert len(expected_contacts) == 2 and expected_contacts[0]["phone"] is not None
    assert json.dumps(content["contacts"]) == json.dumps(expected_contacts)
    assert [(p["participant_id"], p["organisation"], p["unit"]) for p in content["participants"]] == [
        (p.id, organisations.get(p.organisation_id), units.get(p.unit_id)) for p in participants
    ]
    assert render_plan_pdf(content) == version.pdf


def test_rows_read_before_a_participant_changed_organisation_are_read_again_for_the_names(
    db_session, parties, planned
):
    # The shortcut must not apply: the rows a step read hold no name for an organisation asked later.
    case, plan = planned.case, planned.plan
    participants = db_session.exec(
        select(Participant).where(Participant.case_id == case.id, Participant.active).order_by(Participant.id)
    ).all()
    stale = read_plan_rows(db_session, plan.id, [])
    assert not stale.names_cover(participants)
    content = plan_content(db_session, case, plan, rows=stale, participants=participants)
    assert content == plan_content(db_session, case, plan)
    named = [p["organisation"] for p in content["participants"] if p["organisation_id"] is not None]
    assert named and None not in named
