"""Fixtures of the case tests."""

from __future__ import annotations

import pytest
from support import fire

from sipflow.cases.services import add_unit_participant
from sipflow.clock import now_utc
from sipflow.db import unit_of_work


@pytest.fixture
def joined_later(db_session, registry, parties, create_case):
    """A SIP whose consent covers region and municipality; the school joined after it was recorded."""
    case = create_case()
    fire(
        db_session,
        registry,
        parties.region_user,
        case,
        "give_consent",
        now=now_utc(),
        organisation_ids=[parties.region.organisation_id, parties.municipality.organisation_id],
    )
    with unit_of_work(db_session):
        add_unit_participant(db_session, registry, case, parties.school.id, now=now_utc())
    return case
