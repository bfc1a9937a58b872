"""Synthetic SIP cases in bulk: persons, cases, participants, consents, meetings, attendance, deadlines, log.

Three parts: `population` (the organisations, units and staff cases refer to, and the persons),
`simulation` (each case walked along its workflow file with the rules the services apply) and `bulkload`
(the rows written with Core's INSERTs on SQLite and COPY on PostgreSQL, ids assigned after the highest id
in each table so that child rows need no round-trip, one transaction per batch of BATCH_SIZE cases; a load
that at least doubles the cases drops the loaded tables' secondary indexes, and on PostgreSQL their foreign
keys, and builds them after it). The load ends with ANALYZE, so that the planner knows the sizes it loaded.
The ORM is used only for the few dozen organisations, units and users the cases refer to.

Deterministic for a given seed, database and `now`; calling it again adds more cases with new references
(`SIP-SYN-<seed>-<number>`, continuing after the highest number already there for that seed).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from flask import current_app
from sqlalchemy import func
from sqlmodel import Session, select

from sipflow.cases.models import SipCase
from sipflow.clock import now_utc
from sipflow.coding.queries import load_catalogue, unit_facts
from sipflow.db import get_session, refresh_statistics, unit_of_work
from sipflow.demo.bulkload import (
    BATCH_SIZE,
    Ids,
    Rows,
    analyse_loaded_tables,
    bulk_load_pragmas,
    can_fork,
    collected_per_batch,
    forget_plans,
    free_identifiers,
    from_worker,
    generate,
    indexes_built_after,
    restore_missing_indexes_and_foreign_keys,
    sync_sequences,
    write_batch,
)
from sipflow.demo.population import Population, QuickRandom, Renumberer, ensure_parties
from sipflow.demo.simulation import CaseSimulator, reference_prefix
from sipflow.people.reference import load_municipalities


def next_number(session: Session, seed: int) -> int:
    """The first free case number for seed: one past the highest reference already there."""
    prefix = reference_prefix(seed)
    # '.' follows '-' in ASCII: the range holds exactly the references that start with prefix.
    highest = session.exec(
        select(func.max(SipCase.reference)).where(
            SipCase.reference >= prefix, SipCase.reference < prefix[:-1] + "."
        )
    ).one()
    if highest is None:
        return 1
    tail = highest[len(prefix) :]
    return int(tail) + 1 if tail.isdigit() else 1


def load_synthetic_cases(
    n: int,
    *,
    seed: int,
    progress: Callable[[int], object] | None = None,
    now: datetime | None = None,
    batch_size: int = BATCH_SIZE,
) -> int:
    """Add n synthetic cases with persons, participants, consents, meetings and logs; return how many."""
    if n <= 0:
        return 0
    session = get_session()
    registry = current_app.extensions["sipflow.workflows"]
    now = now or now_utc()
    with unit_of_work(session):
        load_municipalities(session)
        parties, municipalities = ensure_parties(session)
        # Code records follow the catalogue and assignments in force when the load starts.
        party_units = {
            party.unit_id
            for group in (
                parties.regions,
                parties.municipalities,
                parties.schools,
                parties.employment,
                parties.insurance,
            )
            for party in group.values()
        }
        units = unit_facts(session, party_units)
        catalogue = load_catalogue(session, party_units)
    # The latest version of each workflow, by the occasion it serves.
    workflows = {w.occasion: w for w in (registry.latest(name) for name in registry.names())}
    with unit_of_work(session):
        restore_missing_indexes_and_foreign_keys(session.connection())
        first = next_number(session, seed)
        ids = Ids(session)
    engine = session.get_bind()
    sqlite = engine.dialect.name == "sqlite"
    hash_key = current_app.config["PNR_HASH_KEY"]
    rng = QuickRandom(f"sipflow-synthetic:{seed}:{first}")
    population = Population(
        rng, seed=seed, hash_key=hash_key, municipalities=municipalities, take_id=ids.take
    )
    simulator = CaseSimulator(
        rng=rng,
        now=now,
        seed=seed,
        population=population,
        parties=parties,
        workflows=workflows,
        ids=ids,
        sqlite=sqlite,
        units=units,
        catalogue=catalogue,
    )
    renumberer = Renumberer(QuickRandom(f"sipflow-synthetic-renumber:{seed}:{first}"), hash_key)
    # At least four batches when there is enough to share, so that a small load is pipelined too.
    batch_size = min(batch_size, max(1_000, -(-n // 4)))
    batches = generate(simulator.add_case, first, n, batch_size)
    if n > batch_size and can_fork():
        # Generating a batch costs about as much as writing one: the second core builds the next batch
        # while this process writes the current one.
        batches = from_worker(batches)
    # A load that at least doubles the cases builds the loaded tables' indexes after it (max id bounds the
    # cases there are); a smaller one inserts into them as it goes.
    defer_indexes = ids.next["sipcase"] - 1 < n
    # One connection of its own for the whole load, one transaction per batch.
    with (
        engine.connect() as connection,
        bulk_load_pragmas(connection, sqlite),
        indexes_built_after(connection, defer_indexes),
        collected_per_batch() as collect,
    ):
        if not sqlite:
            forget_plans(connection)
        for number, (size, by_table) in enumerate(batches):
            persons, tables = Rows.payload(by_table, sqlite)
            with connection.begin():
                free_identifiers(connection, renumberer, persons)
                write_batch(connection, persons, tables, sqlite)
            del persons, tables, by_table
            if number == 0 and not sqlite:
                analyse_loaded_tables(connection)
            collect()
            if progress is not None:
                progress(size)
        if engine.dialect.name == "postgresql":
            with connection.begin():
                sync_sequences(connection)
    with engine.connect() as connection:
        # The database the load leaves is ready to query: the planner knows the new tables' sizes (a full
        # ANALYZE reads every index once: 0.45 s at 100k cases here).
        refresh_statistics(connection, full=True)
    return n
