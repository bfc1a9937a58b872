"""Retention anonymises a person once none of their SIPs is kept; a new SIP started for them meanwhile is
one. At a county's first retention run after a decade the run takes a while, at night, when a discharge SIP
may well be started: staff typed the personnummer of someone whose only SIP ended eleven years ago.

The run counted the person's SIPs before the new one was committed (or the request had read the person
before the run replaced their identifier) and anonymised them: the new, running SIP then belonged to
"Anonymiserad person" with a random reservnummer and a birth date cut to its year, what staff typed lost,
and nobody could change it back (an anonymised person's particulars are changed by nobody).

A request starting a SIP holds the person's row (FOR SHARE) from finding them to its commit, and retention
holds each person's row (FOR UPDATE) before it counts their kept SIPs: whichever comes first, the other
waits; retention then keeps the person, or the request registers them anew from what was typed.
PostgreSQL only: SQLite has one writer at a time."""

from __future__ import annotations

import threading
import time

import pytest
import support
from sqlmodel import Session
from support import new_case
from test_anonymise import ended_case, policy, reload  # noqa: F401  (fixtures)

from sipflow.cases.models import SipCase
from sipflow.db import unit_of_work
from sipflow.people.identifiers import parse_identifier
from sipflow.people.models import Person, User
from sipflow.people.services import find_or_register_person, identifier_hash
from sipflow.retention.anonymise import ANONYMOUS_GIVEN_NAME, anonymise_expired_cases
from sipflow.retention.models import is_anonymised_person

pytestmark = pytest.mark.postgresql

WAIT_SECONDS = 20


def _waits_or_ends(engine, thread: threading.Thread) -> None:
    """Return once thread waits for a lock or has ended."""
    deadline = time.monotonic() + WAIT_SECONDS
    while thread.is_alive() and not support.waiting_on_a_lock(engine):
        assert time.monotonic() < deadline, "the other transaction neither waited nor finished"
        time.sleep(0.01)


def _start_sip(session: Session, app, registry, actor_id: int, unit_id: int, typed: str, now) -> SipCase:
    """What Ny SIP does with a personnummer typed: find (or register) the person, start their SIP."""
    registration = find_or_register_person(
        session,
        app.config["PNR_HASH_KEY"],
        parse_identifier(typed, today=now.date()),
        given_name="Nytt",
        family_name="Namn",
        home_municipality_code="0780",
        now=now,
    )
    case = new_case(
        session,
        registry,
        session.get(User, actor_id),
        workflow="sip",
        person=registration.person,
        unit_ids=[unit_id],
        now=now,
    )
    session.flush()
    return case


def _old_sip(db_session, ended_case):  # noqa: F811
    """A SIP ended eleven years ago, the person's only one; the person's id, name and personnummer."""
    old = ended_case("closed")
    person = reload(db_session, Person, old.person_id)
    return old, (person.id, person.given_name), person.id_number


def test_retention_waits_for_a_sip_being_started_and_keeps_the_person(
    app,
    engine,
    db_session,
    registry,
    parties,
    ended_case,  # noqa: F811
    policy,  # noqa: F811
    now,
):
    old, person, typed = _old_sip(db_session, ended_case)
    outcome: list = []

    def retention() -> None:
        try:
            with app.app_context(), Session(engine, expire_on_commit=False) as session:
                outcome.append(anonymise_expired_cases(session, now=now, policy=policy))
                session.commit()
        except Exception as error:  # noqa: BLE001 (the test asserts which)
            outcome.append(error)

    run = threading.Thread(target=retention)
    with Session(engine, expire_on_commit=False) as starting:
        with unit_of_work(starting):
            started = _start_sip(
                starting, app, registry, parties.region_user.id, parties.municipality.id, typed, now
            )
            run.start()
            _waits_or_ends(engine, run)
    run.join(WAIT_SECONDS)
    assert not run.is_alive() and outcome == [1], outcome
    person_id, name = person
    kept = reload(db_session, Person, person_id)
    assert (kept.given_name, kept.id_number) == (name, typed)
    assert not is_anonymised_person(db_session, kept)
    assert reload(db_session, SipCase, started.id).person_id == person_id


def test_a_sip_started_while_retention_anonymises_the_person_registers_them_anew(
    app,
    engine,
    db_session,
    registry,
    parties,
    ended_case,  # noqa: F811
    policy,  # noqa: F811
    now,
):
    old, person, typed = _old_sip(db_session, ended_case)
    outcome: list = []

    def start() -> None:
        try:
            with app.app_context(), Session(engine, expire_on_commit=False) as session:
                with unit_of_work(session):
                    case = _start_sip(
                        session, app, registry, parties.region_user.id, parties.municipality.id, typed, now
                    )
                outcome.append(case.id)
        except Exception as error:  # noqa: BLE001 (the test asserts which)
            outcome.append(error)

    request = threading.Thread(target=start)
    with app.app_context(), Session(engine, expire_on_commit=False) as retaining:
        assert anonymise_expired_cases(retaining, now=now, policy=policy) == 1
        request.start()
        _waits_or_ends(engine, request)
        retaining.commit()
    request.join(WAIT_SECONDS)
    assert not request.is_alive() and len(outcome) == 1 and isinstance(outcome[0], int), outcome
    person_id, _name = person
    assert reload(db_session, Person, person_id).given_name == ANONYMOUS_GIVEN_NAME
    started = reload(db_session, SipCase, outcome[0])
    holder = db_session.get(Person, started.person_id)
    assert holder.id != person_id
    assert (holder.given_name, holder.family_name, holder.id_number) == ("Nytt", "Namn", typed)
    assert holder.id_hash == identifier_hash(app.config["PNR_HASH_KEY"], typed)
    assert not is_anonymised_person(db_session, holder)
