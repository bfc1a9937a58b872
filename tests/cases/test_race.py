"""Two writers holding the same version of a case: one wins, the other gets StaleCase and writes nothing."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func
from sqlmodel import Session, SQLModel, select
from support import KEPT_TABLES

from sipflow.cases.errors import StaleCase
from sipflow.cases.models import SipCase, TransitionLog
from sipflow.cases.scripted import fire_scripted
from sipflow.consent.models import Consent
from sipflow.db import unit_of_work
from sipflow.people.models import User


def snapshot(engine) -> dict[str, list[tuple]]:
    """Every committed row of every table but the reference data."""
    with engine.connect() as connection:
        return {
            table.name: [
                tuple(row)
                for row in connection.execute(table.select().order_by(*table.primary_key.columns)).all()
            ]
            for table in SQLModel.metadata.sorted_tables
            if table.name not in KEPT_TABLES
        }


def give_consent(session: Session, registry, actor: User, case: SipCase, now) -> None:
    """Fire give_consent with the version the session loaded, in one unit of work."""
    with unit_of_work(session):
        fire_scripted(session, registry, actor, case, "give_consent", now=now)


def assert_consented_once(engine, case_id: int) -> None:
    with Session(engine) as session:
        case = session.get(SipCase, case_id)
        assert (case.state, case.version) == ("consent_given", 2)
        triggers = session.exec(
            select(TransitionLog.trigger).where(TransitionLog.case_id == case_id).order_by(TransitionLog.id)
        ).all()
        assert triggers == ["create", "give_consent"]
        consents = session.exec(
            select(func.count()).select_from(Consent).where(Consent.case_id == case_id)
        ).one()
        assert consents == 1


def test_second_session_with_same_version_gets_stale_case(
    app_ctx, engine, registry, parties, create_case, now
):
    case_id = create_case().id
    with (
        Session(engine, expire_on_commit=False) as first,
        Session(engine, expire_on_commit=False) as second,
    ):
        case_a, case_b = first.get(SipCase, case_id), second.get(SipCase, case_id)
        assert case_a.version == case_b.version == 1
        actor_a, actor_b = first.get(User, parties.region_user.id), second.get(User, parties.region_user.id)

        give_consent(first, registry, actor_a, case_a, now)
        before = snapshot(engine)
        with pytest.raises(StaleCase):
            give_consent(second, registry, actor_b, case_b, now)
        assert snapshot(engine) == before
    assert_consented_once(engine, case_id)


@pytest.mark.parametrize("attempt", range(3))
def test_two_threads_firing_together_one_wins(app, engine, registry, parties, create_case, now, attempt):
    case_id = create_case().id
    before = snapshot(engine)
    barrier = threading.Barrier(2, timeout=10)
    outcomes: list[object] = [None, None]

    def writer(index: int) -> None:
        try:
            with app.test_request_context(), Session(engine, expire_on_commit=False) as session:
                case = session.get(SipCase, case_id)
                actor = session.get(User, parties.region_user.id)
                assert case.version == 1
                barrier.wait()
                give_consent(session, registry, actor, case, now)
            outcomes[index] = "won"
        except BaseException as error:  # noqa: BLE001 - the main thread asserts on whatever happened
            outcomes[index] = error

    threads = [threading.Thread(target=writer, args=(i,), name=f"writer-{i}") for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads), "a writer is still waiting"

    winners = [o for o in outcomes if o == "won"]
    losers = [o for o in outcomes if o != "won"]
    assert len(winners) == 1, outcomes
    assert isinstance(losers[0], StaleCase), repr(losers[0])
    assert_consented_once(engine, case_id)
    # Exactly the winner's writes: the case row, its Mina SIP rows (the new state), one log row, one consent
    # with its organisations.
    after = snapshot(engine)
    changed = {name for name in after if after[name] != before[name]}
    assert changed == {"sipcase", "case_visibility", "transitionlog", "consent", "consentorganisation"}
