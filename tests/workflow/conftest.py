"""Fixtures for the workflow tests: one case walked to every state of every workflow, shared by a module."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
from flowkit import WORKFLOWS, Cast, make_cast, shortest_paths, walk_to
from sqlalchemy.engine import Engine
from sqlmodel import Session
from support import empty_tables, reused_world


@dataclass
class WalkedCases:
    """Committed cases, one per (workflow, state), that tests change only inside a rolled-back session."""

    engine: Engine
    cast: Cast
    case_ids: dict[tuple[str, str], int]

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session whose work is always rolled back, so the shared cases stay as they were walked."""
        with Session(self.engine, expire_on_commit=False) as session:
            try:
                yield session
            finally:
                session.rollback()


@pytest.fixture(scope="module")
def walked(session_app) -> Iterator[WalkedCases]:
    """One case walked to every reachable state of every workflow (for a module); the tables emptied after."""
    engine = session_app.extensions["sipflow.engine"]
    empty_tables(engine)

    def build() -> tuple[Cast, dict[tuple[str, str], int]]:
        case_ids = {}
        with session_app.test_request_context(), Session(engine, expire_on_commit=False) as session:
            cast = make_cast(session, session_app.config["PNR_HASH_KEY"])
            for workflow in WORKFLOWS:
                for state in shortest_paths(workflow):
                    case_ids[(workflow.name, state)] = walk_to(session, cast, workflow, state).id
        return cast, case_ids

    # The modules after the first on a worker get the walked rows back from a copy.
    cast, case_ids = reused_world(engine, "walked", build)
    yield WalkedCases(engine, cast, case_ids)
    empty_tables(engine)


@pytest.fixture
def request_ctx(session_app):
    """A request context of the session app, for lazy translated messages."""
    with session_app.test_request_context():
        yield session_app


@pytest.fixture
def cast(app, db_session):
    """A fresh cast of personas (initiator, huvudansvarig, participant, outsider) for one test."""
    engine = db_session.get_bind()
    return reused_world(engine, "workflow cast", lambda: make_cast(db_session, app.config["PNR_HASH_KEY"]))
