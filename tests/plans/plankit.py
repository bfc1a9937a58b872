"""What the plan tests share: a case walked to the plan step, and a complete plan as the editor sends it."""

from __future__ import annotations

from datetime import date, timedelta

import support
from sqlmodel import select

from sipflow.clock import to_local
from sipflow.db import unit_of_work
from sipflow.meetings.models import Meeting, MeetingDecision
from sipflow.plans import editor, responsibility
from sipflow.plans.services import find_plan

# The steps before the plan can be established, in every shipped workflow.
BEFORE_PLAN = ("give_consent", "start_preparation", "send_kallelse", "hold_meeting")


def today(now) -> date:
    return to_local(now).date()


def walk(db_session, registry, actor, case, now, steps=BEFORE_PLAN):
    """Fire steps on case by the service layer, scripted input; the meeting decides nothing new.

    (A meeting's decisions become efforts of the plan; these tests start from a plan with none.)
    """
    for trigger in steps:
        overrides = (
            {"decisions": [], "no_change_reason": "Inget nytt beslut."} if trigger == "hold_meeting" else {}
        )
        support.fire(db_session, registry, actor, case, trigger, now=now, **overrides)
    return case


def complete_data(case, parties, now, **changes) -> dict:
    """A plan that holds every item the establishing step asks for (changes on top)."""
    region, municipality = parties.region.organisation_id, parties.municipality.organisation_id
    data = {
        "needs": "Stöd i vardagen och med sysselsättning.",
        "own_goals": [{"uid": None, "text": "Det är viktigt för mig att ha ett arbete."}],
        "professional_goals": [{"uid": None, "text": "Stabil psykisk hälsa."}],
        "efforts": [
            {
                "kind": "effort",
                "what": "Samtalsstöd var fjortonde dag",
                "organisation_id": region,
                "unit_id": parties.region.id,
                "responsible": "Anna Ek",
                "starts_on": today(now),
                "ends_on": today(now) + timedelta(days=180),
                "status": "planned",
            },
            {
                "kind": "effort",
                "what": "Boendestöd två gånger i veckan",
                "organisation_id": municipality,
                "responsible": "Omar Lind",
                "status": "ongoing",
            },
            {"kind": "own", "what": "Går promenader varje dag", "actor": "Personen själv"},
            {"kind": "other", "what": "Arbetsträning", "actor": "Arbetsförmedlingen"},
        ],
        "no_other_measures": False,
        "huvudansvar_contact": "Anna Ek, 0470-123 45",
        "fast_vardkontakt": "Dr Berg",
        "fast_omsorgskontakt": "Omar Lind",
        "contacts": [
            {"organisation_id": region, "name": "Anna Ek", "phone": "0470-12345", "email": "anna@example.se"}
        ],
        "follow_up_on": today(now) + timedelta(days=90),
        "child_view": "",
        "child_view_missing_reason": "",
    }
    data.update(changes)
    # The kit confirms the follow-up day it sets, as a scripted caller may (a weekend day or a holiday is
    # otherwise refused until confirmed: test_follow_up_day_off).
    data.setdefault(editor.CONFIRMED_FOLLOW_UP_DAY, data["follow_up_on"])
    return data


def save(db_session, case, actor, data, now, *, expected=None):
    """Save data as the working plan in one unit of work; the plan."""
    plan = find_plan(db_session, case)
    if expected is None:
        expected = plan.row_version if plan else 0
    with unit_of_work(db_session):
        return editor.save_plan(db_session, case, actor, data, expected_row_version=expected, now=now)


def give_huvudansvar(db_session, case, actor, organisation_id, now, reason=None):
    with unit_of_work(db_session):
        return responsibility.give_huvudansvar(
            db_session,
            case,
            actor,
            organisation_id=organisation_id,
            reason=reason,
            expected_version=case.version,
            now=now,
        )


def new_decisions(db_session, parties, case, texts) -> list[MeetingDecision]:
    """Decisions of the case's first meeting, one per text, for the municipality, flushed (not committed)."""
    meeting = db_session.exec(select(Meeting).where(Meeting.case_id == case.id)).first()
    decisions = [
        MeetingDecision(
            meeting_id=meeting.id,
            text=text,
            organisation_id=parties.municipality.organisation_id,
            due_on=date(2027, 1, 31),
            position=i,
        )
        for i, text in enumerate(texts)
    ]
    db_session.add_all(decisions)
    db_session.flush()
    return decisions
