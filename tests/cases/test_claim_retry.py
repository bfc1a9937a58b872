"""A form that only sets attributes runs before the claim; a claim SQLite makes start afresh still writes it.

The claim of a case is the step's first write. When SQLite refuses it (another writer holds the lock), the
session rolls back, reads the case again and claims once more: what the plan form set on the case and on
its participants before the first attempt must still be written by the second.
"""

from __future__ import annotations

import sqlite3
from datetime import timedelta

import support
from sqlalchemy import event
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, select

from sipflow.cases.models import Participant, SipCase
from sipflow.people.models import User


def test_a_claim_started_afresh_still_writes_what_the_plan_form_set(
    db_session, engine, registry, parties, create_case, now
):
    case = create_case()
    for step, trigger in enumerate(support.SIP_HAPPY_PATH[:4], start=1):
        support.fire(
            db_session, registry, parties.region_user, case, trigger, now=now + timedelta(minutes=step)
        )
    at = now + timedelta(minutes=5)
    municipality = parties.municipality.organisation_id
    refused: list[str] = []

    def lock_the_first_claim(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("UPDATE SIPCASE") and not refused:
            refused.append(statement)
            raise OperationalError(statement, parameters, sqlite3.OperationalError("database is locked"))

    with Session(engine, expire_on_commit=False) as session:
        case_b = session.get(SipCase, case.id)
        actor = session.get(User, parties.region_user.id)
        event.listen(engine, "before_cursor_execute", lock_the_first_claim)
        try:
            with support.statements(engine) as seen:
                support.fire(
                    session,
                    registry,
                    actor,
                    case_b,
                    "establish_plan",
                    now=at,
                    huvudansvarig_organisation_id=municipality,
                )
        finally:
            event.remove(engine, "before_cursor_execute", lock_the_first_claim)
    assert refused, "the claim was not refused once"
    # The second claim wrote the case's follow-up date with the state: no UPDATE of the case after it.
    assert sum(s.lstrip().upper().startswith("UPDATE SIPCASE") for s in seen) == 1, seen
    db_session.expire_all()
    stored = db_session.get(SipCase, case.id)
    assert stored.state == "plan_established"
    assert stored.follow_up_on is not None and stored.follow_up_on > at
    roles = dict(
        db_session.exec(
            select(Participant.organisation_id, Participant.role).where(
                Participant.case_id == case.id, Participant.kind == "organisation"
            )
        ).all()
    )
    assert roles[municipality] == "huvudansvarig"
    assert roles[parties.region.organisation_id] == "initiator"
