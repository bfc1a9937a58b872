"""A form that only sets attributes runs before the claim; a claim SQLite makes start afresh still writes it.

The claim of a case is the step's first write. When SQLite refuses it (another writer holds the lock), the
session rolls back, reads the case again and claims once more: what the preparation form set on the case
before the first attempt must still be written by the second.
"""

from __future__ import annotations

import sqlite3
from datetime import timedelta

import support
from sqlalchemy import event
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from sipflow.cases.models import SipCase
from sipflow.people.models import User


def test_a_claim_started_afresh_still_writes_what_the_preparation_form_set(
    db_session, engine, registry, parties, create_case, now
):
    case = create_case()
    support.fire(
        db_session, registry, parties.region_user, case, "give_consent", now=now + timedelta(minutes=1)
    )
    at = now + timedelta(minutes=5)
    refused: list[str] = []

    def lock_the_first_claim(conn, cursor, statement, parameters, context, executemany):
        if support.updates_case_row(statement) and not refused:
            refused.append(statement)
            raise OperationalError(statement, parameters, sqlite3.OperationalError("database is locked"))

    with Session(engine, expire_on_commit=False) as session:
        case_b = session.get(SipCase, case.id)
        actor = session.get(User, parties.region_user.id)
        event.listen(engine, "before_cursor_execute", lock_the_first_claim)
        try:
            with support.statements(engine) as seen:
                support.fire(
                    session, registry, actor, case_b, "start_preparation", now=at, questions="Vem gör vad?"
                )
        finally:
            event.remove(engine, "before_cursor_execute", lock_the_first_claim)
    assert refused, "the claim was not refused once"
    # The second claim wrote the questions with the state: no UPDATE of the case after it.
    assert sum(support.updates_case_row(s) for s in seen) == 1, seen
    db_session.expire_all()
    stored = db_session.get(SipCase, case.id)
    assert (stored.state, stored.questions) == ("preparing", "Vem gör vad?")
