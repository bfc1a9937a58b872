"""The person's view, approvals and links read through indexes, never a whole table."""

from __future__ import annotations

import support
from sqlalchemy.orm import defer
from sqlmodel import select

from sipflow.cases.models import Participant, SipCase
from sipflow.plans.models import PersonalLink, PlanApproval, PlanVersion


def full_scans(plan: str, *tables: str) -> list[str]:
    return [
        line.strip()
        for line in plan.splitlines()
        for table in tables
        if line.strip() == f"SCAN {table}" or f"Seq Scan on {table}" in line
    ]


def test_the_queries_of_the_persons_view_use_indexes(db_session, planned):
    statements = [
        select(SipCase).where(SipCase.person_id == 1).order_by(SipCase.requested_at.desc()).limit(50),
        select(PlanVersion)
        .options(defer(PlanVersion.pdf))
        .where(PlanVersion.case_id == 1)
        .order_by(PlanVersion.number.desc())
        .limit(1),
        select(PlanApproval).where(PlanApproval.version_id.in_([1, 2])),
        select(PersonalLink).where(PersonalLink.case_id == 1).limit(50),
        select(Participant.id).where(Participant.case_id == 1, Participant.kind == "person"),
    ]
    tables = ("sipcase", "planversion", "planapproval", "personallink", "participant")
    for statement in statements:
        assert full_scans(support.query_plan(db_session, statement), *tables) == [], str(statement)
