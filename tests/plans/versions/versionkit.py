"""What the plan-version tests share: a SIP at its meeting with a whole working plan, å ä ö in every field.

The plan is written through the models directly (the editor is built elsewhere); establishing and revising
go through the workflow, whose files name the freezing effect.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import support
from sqlmodel import select

from sipflow.cases.models import SipCase
from sipflow.db import unit_of_work
from sipflow.people.models import Person, Unit
from sipflow.plans.models import Plan, PlanContact, PlanEffort, PlanGoal
from sipflow.plans.services import working_plan

GIVEN_NAME, FAMILY_NAME = "Åsa", "Öberg-Ängström"
# Every text field of the plan, each with å, ä or ö, so a lost character shows in the PDF's text.
TEXTS = {
    "needs": "Behöver stöd med ekonomi, boende och sömn",
    "own_goal_1": "Jag vill klara mig själv i lägenheten",
    "own_goal_2": "Få träffa mina döttrar varje vecka",
    "professional_goal": "Stabil läkemedelsbehandling före våren",
    "effort_region": "Samtalsstöd på vårdcentralen",
    "responsible_region": "Örjan Åberg",
    "effort_municipality": "Hemtjänst två gånger i veckan",
    "responsible_municipality": "Märta Ölund",
    "own_actor": "Åsa och hennes syster",
    "own_what": "Handlar tillsammans på lördagar",
    "other_actor": "Försäkringskassan",
    "other_what": "Utreder sjukpenning under våren",
    "huvudansvar_contact": "Anna Äng",
    "fast_vardkontakt": "Distriktssköterska Åsa Brännström",
    "fast_omsorgskontakt": "Biståndshandläggare Göran Sjöö",
    "contact_region": "Anna Äng",
    "contact_municipality": "Björn Hällström",
    "child_view_missing_reason": "Barnet ville inte svara på frågorna själv",
}
FOLLOW_UP_ON = date(2027, 2, 15)
REGION_UNIT = "Vårdcentralen Öster"
MUNICIPALITY_UNIT = "Hemtjänst Söder"


@dataclass
class PlannedCase:
    case: SipCase
    person: Person
    plan: Plan


def at_meeting_held(db_session, registry, app, parties, now, *, workflow: str = "sip") -> PlannedCase:
    """A case of workflow (region initiator, municipality) whose meeting is held, with a whole working
    plan."""
    person = support.new_person(
        db_session, app.config["PNR_HASH_KEY"], now=now, given_name=GIVEN_NAME, family_name=FAMILY_NAME
    )
    db_session.get(Unit, parties.region.id).name = REGION_UNIT
    db_session.get(Unit, parties.municipality.id).name = MUNICIPALITY_UNIT
    case = support.new_case(
        db_session,
        registry,
        parties.region_user,
        workflow=workflow,
        person=person,
        unit_ids=[parties.municipality.id],
        now=now,
    )
    db_session.commit()
    for step, trigger in enumerate(support.SIP_HAPPY_PATH[:4], start=1):
        support.fire(
            db_session, registry, parties.region_user, case, trigger, now=now + timedelta(minutes=step)
        )
    with unit_of_work(db_session):
        plan = write_plan(db_session, case, parties)
    return PlannedCase(case=case, person=person, plan=plan)


def write_plan(session, case, parties) -> Plan:
    """Fill the case's working plan: goals, efforts of every kind, contacts and the single-valued parts."""
    plan = working_plan(session, case)
    # What the steps so far put in the draft (the preparation's own goals) gives way to this exact plan.
    for row in session.exec(select(PlanGoal).where(PlanGoal.plan_id == plan.id)).all():
        session.delete(row)
    for row in session.exec(select(PlanEffort).where(PlanEffort.plan_id == plan.id)).all():
        session.delete(row)
    region_org, municipality_org = parties.region.organisation_id, parties.municipality.organisation_id
    plan.needs = TEXTS["needs"]
    plan.huvudansvar_contact = TEXTS["huvudansvar_contact"]
    plan.fast_vardkontakt = TEXTS["fast_vardkontakt"]
    plan.fast_omsorgskontakt = TEXTS["fast_omsorgskontakt"]
    plan.follow_up_on = FOLLOW_UP_ON
    plan.child_view_missing_reason = TEXTS["child_view_missing_reason"]
    session.add(plan)
    session.flush()
    session.add_all(
        [
            PlanGoal(plan_id=plan.id, kind="own", text=TEXTS["own_goal_1"], position=1),
            PlanGoal(plan_id=plan.id, kind="own", text=TEXTS["own_goal_2"], position=2),
            PlanGoal(plan_id=plan.id, kind="professional", text=TEXTS["professional_goal"], position=3),
            PlanEffort(
                plan_id=plan.id,
                what=TEXTS["effort_region"],
                organisation_id=region_org,
                unit_id=parties.region.id,
                responsible=TEXTS["responsible_region"],
                starts_on=date(2026, 11, 9),
                ends_on=date(2027, 2, 1),
                status="ongoing",
                position=1,
            ),
            PlanEffort(
                plan_id=plan.id,
                what=TEXTS["effort_municipality"],
                organisation_id=municipality_org,
                unit_id=parties.municipality.id,
                responsible=TEXTS["responsible_municipality"],
                starts_on=date(2026, 11, 16),
                ends_on=date(2027, 5, 31),
                status="planned",
                position=2,
            ),
            PlanEffort(
                plan_id=plan.id, kind="own", what=TEXTS["own_what"], actor=TEXTS["own_actor"], position=3
            ),
            PlanEffort(
                plan_id=plan.id,
                kind="other",
                what=TEXTS["other_what"],
                actor=TEXTS["other_actor"],
                position=4,
            ),
            PlanContact(
                plan_id=plan.id,
                organisation_id=region_org,
                name=TEXTS["contact_region"],
                phone="0470-58 80 00",
                email="anna.ang@example.se",
            ),
            PlanContact(
                plan_id=plan.id, organisation_id=municipality_org, name=TEXTS["contact_municipality"]
            ),
        ]
    )
    session.flush()
    return plan


ADDED_EFFORT = "Träning på gymmet två gånger i veckan"
REWORDED_GOAL = "Jag vill klara mig helt själv i lägenheten"


def revise_plan_content(session, plan, parties) -> None:
    """What the follow-up changed: one effort added, the first own goal reworded; committed."""
    goal = session.exec(
        select(PlanGoal)
        .where(PlanGoal.plan_id == plan.id, PlanGoal.kind == "own")
        .order_by(PlanGoal.position)
    ).first()
    goal.text = REWORDED_GOAL
    session.add(goal)
    session.add(
        PlanEffort(
            plan_id=plan.id, what=ADDED_EFFORT, organisation_id=parties.region.organisation_id, position=9
        )
    )
    session.commit()


def pdf_text(data: bytes, tmp_path: Path) -> str:
    """The PDF's text as pdftotext reads it, whitespace runs made single spaces."""
    source = tmp_path / "plan.pdf"
    source.write_bytes(data)
    text = subprocess.run(["pdftotext", str(source), "-"], capture_output=True, text=True, check=True).stdout
    return " ".join(text.split())


def pdf_tool(tool: str, data: bytes, tmp_path: Path) -> str:
    """What a poppler tool (pdffonts, pdfinfo) prints about the PDF."""
    source = tmp_path / f"{tool}.pdf"
    source.write_bytes(data)
    return subprocess.run([tool, str(source)], capture_output=True, text=True, check=True).stdout
