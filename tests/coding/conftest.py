"""Fixtures for the coding tests: the seeded catalogue with its default assignments, and a held meeting."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import delete
from sqlmodel import select

from sipflow.coding.models import CodeAssignment, CodeDefinition, CodeRecord

# The rows migration a7b9c1d3e5f7 seeds (reference data kept between tests).
SEEDED = (("XU045", "sip"), ("AU124", "sip"), ("ZV051", "distance"))


@pytest.fixture
def catalogue(db_session):
    """The seeded codes in use and the default assignments (region XU045, municipality AU124).

    Afterwards every code a test added is removed again and the seeded ones are in use, so the
    reference data is as the migration left it for the next test.
    """
    for code, kind in SEEDED:
        definition = db_session.get(CodeDefinition, code)
        if definition is None:  # a test elsewhere emptied the reference data: put the seed back
            db_session.add(
                CodeDefinition(
                    code=code, label="SIP", kind=kind, created_at=datetime(2026, 12, 2, tzinfo=UTC)
                )
            )
    # The migration's rows are there until the first test ends; after that each test inserts its own.
    db_session.exec(delete(CodeAssignment))
    db_session.add_all(
        [
            CodeAssignment(organisation_kind="region", code="XU045"),
            CodeAssignment(organisation_kind="municipality", code="AU124"),
        ]
    )
    db_session.commit()
    yield
    db_session.rollback()
    db_session.exec(delete(CodeRecord))
    db_session.exec(delete(CodeAssignment))
    seeded = {code for code, _ in SEEDED}
    for definition in db_session.exec(select(CodeDefinition)).all():
        if definition.code in seeded:
            definition.retired_at = None
            db_session.add(definition)
        else:
            db_session.delete(definition)
    db_session.commit()
