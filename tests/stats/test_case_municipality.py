"""SIPs offered count where the person lived when the SIP was requested: a later move changes no period."""

from __future__ import annotations

import importlib.util
from datetime import UTC, datetime

from sqlalchemy import text, update
from sqlmodel import select

from sipflow.cases.models import Deadline, SipCase
from sipflow.config import PROJECT_ROOT
from sipflow.stats.services import indicators

NYBRO, VAXJO = "0881", "0780"  # Kalmar county (08), Kronoberg county (07)


def outcomes(world, **options):
    settings = world.settings()
    settings.threshold = 1
    answer = indicators(world.session, world.query(**options), settings)
    return next(t for t in answer["tables"] if t["key"] == "outcomes")


def test_a_sip_offered_stays_in_the_municipality_and_county_the_person_lived_in_when_it_was_requested(world):
    person = world.person(NYBRO)
    case = world.case(person, requested=datetime(2026, 1, 5, 9, tzinfo=UTC))
    assert case.municipality_code == NYBRO
    world.session.add(
        Deadline(case_id=case.id, kind="follow_up", due_at=datetime(2026, 2, 1, 12, tzinfo=UTC))
    )
    person.home_municipality_code = VAXJO  # the person moves after the quarter
    world.session.flush()
    by_municipality = outcomes(world, by="municipality")["rows"]
    # Every municipality is a row (no scope, no filter: the whole country); the others counted nothing.
    assert [
        (row["municipality"], row["offered"], row["follow_ups_due"])
        for row in by_municipality
        if row["offered"] or row["follow_ups_due"]
    ] == [("Nybro", 1, 1)]
    by_county = outcomes(world, by="county")["rows"]
    assert [(row["county"], row["offered"]) for row in by_county if row["offered"]] == [("Kalmar län", 1)]
    assert outcomes(world, county="08")["total"]["offered"] == 1
    assert outcomes(world, municipality=VAXJO)["total"]["offered"] == 0


def migration_backfill(revision: str) -> str:
    """The back-fill SQL of the migration of that revision."""
    path = next((PROJECT_ROOT / "migrations" / "versions").glob(f"*_{revision}_*.py"))
    spec = importlib.util.spec_from_file_location(f"migration_{revision}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.BACKFILL


def test_the_migration_gives_each_existing_case_its_persons_municipality(world):
    cases = [world.case(world.person(code)) for code in (NYBRO, VAXJO)]
    world.session.execute(update(SipCase).values(municipality_code="0180"))
    world.session.execute(text(migration_backfill("c3e5a7b9d1f4")))
    world.session.expire_all()
    kept = dict(world.session.exec(select(SipCase.id, SipCase.municipality_code)).all())
    assert kept == {cases[0].id: NYBRO, cases[1].id: VAXJO}
