"""Every statement a SIP's start and its steps send comes from SQLAlchemy's compiled cache once warm.

A statement SQLAlchemy cannot cache (a multi-row VALUES has no cache key) is compiled afresh at every
execution: the start's one on PostgreSQL cost about two milliseconds of Python per SIP (issue 9).
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import timedelta

import support
from sqlalchemy import event
from sqlalchemy.engine.default import CacheStats

from sipflow.db import unit_of_work


@contextmanager
def uncached(engine):
    """The statements sent inside the block that SQLAlchemy compiled rather than took from its cache."""
    compiled: list[tuple[str, str]] = []

    def record(_conn, _cursor, statement, _parameters, context, _executemany) -> None:
        hit = getattr(context, "cache_hit", CacheStats.CACHE_HIT)
        if hit is not CacheStats.CACHE_HIT:
            compiled.append((hit.name, " ".join(statement.split())[:160]))

    event.listen(engine, "after_cursor_execute", record)
    try:
        yield compiled
    finally:
        event.remove(engine, "after_cursor_execute", record)


def _start_and_walk(db_session, registry, parties, person, engine, at) -> list[tuple[str, str]]:
    """Start a SIP with two other organisations, take it along the happy path; the statements compiled."""
    units = [parties.municipality.id, parties.school.id]
    actor = parties.region_user
    with uncached(engine) as compiled:
        with unit_of_work(db_session):
            case = support.new_case(
                db_session, registry, actor, workflow="sip", person=person, unit_ids=units, now=at
            )
        steps = support.fired_with_statements(db_session, registry, actor, case, engine, start=at)
        assert [trigger for trigger, _seen in steps] == list(support.SIP_HAPPY_PATH)
    return compiled


def test_a_second_sip_sends_only_statements_compiled_before(
    db_session, registry, parties, make_person, engine, now
):
    _start_and_walk(db_session, registry, parties, make_person(), engine, now)
    second = _start_and_walk(db_session, registry, parties, make_person(), engine, now + timedelta(hours=1))
    assert second == [], second
