"""Ny SIP's person on PostgreSQL: found or registered in one statement; on SQLite a look-up, then the INSERT.

Either way a registered person is found and left as they are, a new one is registered with what was typed,
and two requests registering the same new person at once both end with the one row.
"""

from __future__ import annotations

import threading
from datetime import date

import support
from sqlalchemy import func, text
from sqlmodel import Session, select
from support import valid_personnummer

from sipflow.clock import now_utc
from sipflow.people.identifiers import parse_identifier
from sipflow.people.models import Person
from sipflow.people.services import find_or_register_person, identifier_hash

VAXJO = "0780"


def _register(session, app, serial: int, given_name: str = "Ann", family_name: str = "Ek"):
    now = now_utc()
    return find_or_register_person(
        session,
        app.config["PNR_HASH_KEY"],
        parse_identifier(valid_personnummer(date(1950, 1, 2), serial=serial), today=now.date()),
        given_name=given_name,
        family_name=family_name,
        home_municipality_code=VAXJO,
        now=now,
    )


def test_a_new_person_is_one_statement_on_postgresql(db_session, app, engine):
    _register(db_session, app, 11)  # the municipality is known from now on (a read of its own)
    with support.statements(engine) as seen:
        registration = _register(db_session, app, 12, "Bo", "Ny")
    db_session.commit()
    assert registration.created and not registration.particulars_differ
    inserts = [s for s in seen if "INSERT INTO person " in s]
    assert len(inserts) == 1, seen
    if engine.dialect.name == "postgresql":
        # WITH registered AS (INSERT ... WHERE NOT EXISTS ...) SELECT FROM registered UNION ALL the found.
        assert len(seen) == 1 and seen[0].lstrip().startswith("WITH registered AS"), seen
    else:
        assert len(seen) == 2 and seen[0].lstrip().startswith("SELECT"), seen
    db_session.expire_all()
    person = db_session.get(Person, registration.person.id)
    assert (person.given_name, person.family_name, person.home_municipality_code) == ("Bo", "Ny", VAXJO)
    assert person.id_hash == identifier_hash(app.config["PNR_HASH_KEY"], person.id_number)


def test_a_registered_person_is_found_in_one_statement_and_left_alone(db_session, app, engine):
    first = _register(db_session, app, 21).person
    db_session.commit()
    # A name longer than the column may hold, typed for someone registered: found, not a database error.
    with support.statements(engine) as seen:
        again = _register(db_session, app, 21, "A" * 121, "Ek")
    assert len(seen) == 1, seen
    assert again.person.id == first.id and not again.created and again.particulars_differ
    db_session.commit()
    db_session.expire_all()
    assert db_session.get(Person, first.id).given_name == "Ann"
    assert db_session.exec(select(func.count()).select_from(Person)).one() == 1
    # Finding her took no number from the sequence: the next new person's id follows hers.
    assert _register(db_session, app, 22).person.id == first.id + 1


def test_two_requests_registering_one_new_person_end_with_one_row(db_session, app, engine):
    """The other request's INSERT is not yet committed when this one registers: it waits, then finds it."""
    _register(db_session, app, 31)  # the municipality is known
    db_session.commit()
    found: list = []
    with Session(engine) as other:
        first = _register(other, app, 32, "Först", "Ek")
        other.flush()
        if engine.dialect.name == "postgresql":
            # This request's statement waits on the other's uncommitted row (ON CONFLICT), then finds it.
            def register() -> None:
                with Session(engine) as session:
                    registration = _register(session, app, 32, "Sen", "Ek")
                    found.append(
                        (registration.person.id, registration.created, registration.particulars_differ)
                    )
                    session.commit()

            second = threading.Thread(target=register)
            second.start()
            with engine.connect() as watch:
                waiting = text(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE wait_event_type = 'Lock' AND datname = current_database()"
                )
                while not watch.execute(waiting).scalar() and second.is_alive():
                    watch.rollback()
            other.commit()
            second.join()
        else:
            # One writer at a time: the other request commits before this one's look-up.
            other.commit()
            registration = _register(db_session, app, 32, "Sen", "Ek")
            found.append((registration.person.id, registration.created, registration.particulars_differ))
        first_id = first.person.id
    assert found == [(first_id, False, True)]
    db_session.expire_all()
    assert db_session.get(Person, first_id).given_name == "Först"
    assert db_session.exec(select(func.count()).select_from(Person)).one() == 2
