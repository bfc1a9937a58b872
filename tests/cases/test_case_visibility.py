"""Mina SIP's candidates (case_visibility) follow the cases: the list shows what the access rule does."""

from __future__ import annotations

import importlib.util
from datetime import timedelta

import pytest
import support
from sqlalchemy import text, update
from sqlmodel import select

from sipflow.cases import queries, services
from sipflow.cases.errors import GuardFailed
from sipflow.cases.models import CaseVisibility, SipCase
from sipflow.config import PROJECT_ROOT
from sipflow.db import unit_of_work
from sipflow.demo import load_demo, load_synthetic_cases
from sipflow.people.models import Unit
from sipflow.security import access

pytestmark = pytest.mark.usefixtures("frozen_clock")


def candidates(db_session, case) -> dict[int, object]:
    """The organisations case_visibility lists the case for, with the time each row holds."""
    db_session.expire_all()
    rows = db_session.exec(select(CaseVisibility).where(CaseVisibility.case_id == case.id)).all()
    return {row.organisation_id: row.updated_at for row in rows}


def listed(db_session, registry, user, now) -> set[str]:
    """The references on every page of the user's Mina SIP."""
    seen, after = set(), None
    while True:
        page = queries.my_cases(db_session, registry, user, locale="sv", now=now, after=after, per_page=2)
        seen |= {row.reference for row in page.rows}
        if page.next_cursor is None:
            return seen
        after = page.next_cursor


def allowed(db_session, user, now) -> set[str]:
    """The references the access rule lets the user see, read straight from sipcase."""
    return set(
        db_session.exec(select(SipCase.reference).where(access.visible_cases_clause(user, now=now))).all()
    )


def assert_list_is_the_access_rule(db_session, registry, parties, now):
    for user in (parties.region_user, parties.municipality_user, parties.school_user, parties.outsider_user):
        assert listed(db_session, registry, user, now) == allowed(db_session, user, now), user.username


def test_a_new_case_is_a_candidate_for_its_initiator_and_every_organisation_taking_part(
    db_session, registry, parties, create_case, now
):
    case = create_case(units=[parties.municipality.id, parties.school.id, parties.region.id])
    assert candidates(db_session, case) == {
        parties.region.organisation_id: case.updated_at,
        parties.municipality.organisation_id: case.updated_at,
        parties.school.organisation_id: case.updated_at,
    }
    assert_list_is_the_access_rule(db_session, registry, parties, now)


def test_a_unit_added_later_makes_its_organisation_a_candidate_once(
    db_session, registry, parties, create_case, now
):
    case = create_case(units=[])
    assert set(candidates(db_session, case)) == {parties.region.organisation_id}
    with unit_of_work(db_session):
        services.add_unit_participant(db_session, registry, case, parties.school.id, now=now)
    # A second unit of the same organisation adds no second row.
    second_school_unit = Unit(
        key="unit-elevhalsan", organisation_id=parties.school.organisation_id, name="Elevhälsan"
    )
    db_session.add(second_school_unit)
    db_session.commit()
    with unit_of_work(db_session):
        services.add_unit_participant(db_session, registry, case, second_school_unit.id, now=now)
    assert set(candidates(db_session, case)) == {
        parties.region.organisation_id,
        parties.school.organisation_id,
    }
    # The added organisation's row is of the case's kind, so the filter by kind lists the case for it too.
    kinds = db_session.exec(select(CaseVisibility.occasion).where(CaseVisibility.case_id == case.id)).all()
    assert set(kinds) == {case.occasion}
    assert_list_is_the_access_rule(db_session, registry, parties, now)


def test_a_step_moves_every_candidate_row_to_the_cases_new_time(
    db_session, registry, parties, create_case, now
):
    older, case = create_case(), create_case()
    at = now + timedelta(hours=1)
    support.fire(db_session, registry, parties.region_user, older, "give_consent", now=at)
    db_session.refresh(older)
    assert older.updated_at == at
    assert set(candidates(db_session, older).values()) == {older.updated_at}
    assert set(candidates(db_session, case).values()) == {case.updated_at} != {older.updated_at}
    # The case just moved comes first, for the initiator and (under the consent) for the municipality.
    for user in (parties.region_user, parties.municipality_user):
        page = queries.my_cases(db_session, registry, user, locale="sv", now=at)
        assert [row.reference for row in page.rows][:1] == [older.reference]


def states(db_session, case) -> set[str]:
    """The states case_visibility holds for the case (one per organisation row)."""
    db_session.expire_all()
    return set(db_session.exec(select(CaseVisibility.state).where(CaseVisibility.case_id == case.id)).all())


def listed_in_state(db_session, registry, user, now, state) -> set[str]:
    """The references on every page of the user's Mina SIP filtered by state."""
    seen, after, filters = set(), None, queries.CaseFilter(state=state)
    while True:
        page = queries.my_cases(
            db_session, registry, user, locale="sv", now=now, after=after, per_page=2, filters=filters
        )
        seen |= {row.reference for row in page.rows}
        if page.next_cursor is None:
            return seen
        after = page.next_cursor


def test_every_candidate_row_holds_the_cases_state_through_its_steps(
    db_session, registry, parties, create_case, now
):
    case = create_case(units=[parties.municipality.id, parties.school.id])
    assert states(db_session, case) == {"requested"}
    at = now + timedelta(hours=1)
    support.fire(db_session, registry, parties.region_user, case, "give_consent", now=at)
    assert states(db_session, case) == {"consent_given"}
    # A unit joining later takes the state the case has now, not the one it started in.
    with unit_of_work(db_session):
        services.add_unit_participant(db_session, registry, case, parties.region.id, now=at)
    support.fire(db_session, registry, parties.region_user, case, "start_preparation", now=at)
    assert states(db_session, case) == {"preparing"}


def test_a_step_refused_by_its_guard_leaves_the_candidates_state(
    db_session, registry, parties, create_case, now
):
    case = create_case(units=[])
    support.fire(db_session, registry, parties.region_user, case, "give_consent", now=now)
    # Preparation needs two organisations: the guard refuses after the claim, and the whole step (the
    # candidates' new state with it) is rolled back.
    with pytest.raises(GuardFailed):
        support.fire(db_session, registry, parties.region_user, case, "start_preparation", now=now)
    db_session.rollback()
    assert states(db_session, case) == {"consent_given"}


def test_the_state_filter_lists_what_the_access_rule_shows_in_that_state(
    db_session, registry, parties, create_case, now
):
    cases = [create_case() for _ in range(5)]
    at = now + timedelta(hours=1)
    for case in cases[:3]:
        support.fire(db_session, registry, parties.region_user, case, "give_consent", now=at)
    support.fire(db_session, registry, parties.region_user, cases[0], "start_preparation", now=at)
    for user in (parties.region_user, parties.municipality_user, parties.outsider_user):
        for state in ("requested", "consent_given", "preparing", "closed"):
            expected = set(
                db_session.exec(
                    select(SipCase.reference).where(
                        access.visible_cases_clause(user, now=at), SipCase.state == state
                    )
                ).all()
            )
            assert listed_in_state(db_session, registry, user, at, state) == expected, (user.username, state)
    assert listed_in_state(db_session, registry, parties.region_user, at, "consent_given") == {
        cases[1].reference,
        cases[2].reference,
    }


def test_withdrawing_consent_hides_the_case_from_the_others_though_their_row_stays(
    db_session, registry, parties, create_case, now
):
    case = create_case()
    at = now + timedelta(hours=1)
    support.fire(db_session, registry, parties.region_user, case, "give_consent", now=at)
    assert case.reference in listed(db_session, registry, parties.municipality_user, at)
    later = at + timedelta(hours=1)
    support.fire(db_session, registry, parties.region_user, case, "withdraw_consent", now=later)
    assert parties.municipality.organisation_id in candidates(db_session, case)
    assert case.reference not in listed(db_session, registry, parties.municipality_user, later)
    assert case.reference in listed(db_session, registry, parties.region_user, later)
    assert_list_is_the_access_rule(db_session, registry, parties, later)


def migration_backfill(revision: str) -> str:
    """The back-fill SQL of the migration of that revision."""
    path = next((PROJECT_ROOT / "migrations" / "versions").glob(f"*_{revision}_*.py"))
    spec = importlib.util.spec_from_file_location(f"migration_{revision}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.BACKFILL


def visibility_rows(db_session) -> set[tuple]:
    db_session.expire_all()
    return set(
        db_session.exec(
            select(
                CaseVisibility.organisation_id,
                CaseVisibility.case_id,
                CaseVisibility.updated_at,
                CaseVisibility.state,
                CaseVisibility.occasion,
            )
        ).all()
    )


def test_the_loaders_write_the_rows_the_migrations_back_fill(app_ctx, db_session):
    load_demo()  # persona cases: through the services
    load_synthetic_cases(60, seed=6)  # bulk rows: written by the loader
    written = visibility_rows(db_session)
    cases = db_session.exec(select(SipCase)).all()
    assert {(c.initiating_organisation_id, c.id, c.updated_at, c.state, c.occasion) for c in cases} <= written
    assert len({row[3] for row in written}) > 3  # the synthetic cases end in several states
    assert len({row[4] for row in written}) > 1  # and are of several kinds
    # The first migration's rows (before the state column): its SELECT, read as it is.
    first = migration_backfill("e5f7a9b1c3d4").split("\n", 2)[2]
    columns = CaseVisibility.__table__.c
    typed = text(first).columns(columns.organisation_id, columns.case_id, columns.updated_at)
    backfilled = db_session.execute(typed).all()
    assert {tuple(row) for row in backfilled} == {row[:3] for row in written}
    # The state column's back-fill gives every row its case's state, whatever it held before.
    db_session.execute(update(CaseVisibility).values(state="stale"))
    db_session.execute(text(migration_backfill("a3b5c7d9e1f3")))
    # The occasion's likewise gives every row its case's kind of SIP.
    db_session.execute(update(CaseVisibility).values(occasion="stale"))
    db_session.execute(text(migration_backfill("f4b6d8f0a2c3")))
    db_session.commit()
    assert visibility_rows(db_session) == written
