"""The working plan of a case: found or started, so every caller reads and writes the same row."""

from __future__ import annotations

from sqlmodel import Session, select

from sipflow.cases.models import SipCase
from sipflow.plans.models import Plan


def find_plan(session: Session, case: SipCase) -> Plan | None:
    """The case's working plan, if one was started."""
    return session.exec(select(Plan).where(Plan.case_id == case.id)).first()


def working_plan(session: Session, case: SipCase) -> Plan:
    """The case's working plan, started (empty) on first use; the caller's unit of work commits it."""
    plan = find_plan(session, case)
    if plan is None:
        plan = Plan(case_id=case.id)
        session.add(plan)
        session.flush()
    return plan
