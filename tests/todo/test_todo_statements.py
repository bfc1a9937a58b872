"""Att göra reads the user's unit once per page, whichever sections ask for it."""

from __future__ import annotations

import pytest
import support
from webkit import login

# Login's user with the user's unit and its organisation (held for the request), one statement per section
# (deadlines, follow-ups, meetings to book or record, invitations, efforts). Each section read the unit
# again before (11 in all, with four sections), and the unit was a statement of its own (6, with four).
# The meetings section added its one statement (5 -> 6).
TODO_PAGE_STATEMENTS = 6


@pytest.fixture
def as_region(client, parties):
    assert login(client, parties.region_user.username).status_code == 302
    return client


@pytest.mark.parametrize("path", ["/", "/todo/deadlines"])
def test_att_gora_reads_the_users_unit_once(as_region, app, create_case, path):
    create_case()
    engine = app.extensions["sipflow.engine"]
    as_region.get(path)
    with support.statements(engine) as seen:
        assert as_region.get(path).status_code == 200
    flat = [" ".join(s.replace('"', "").split()) for s in seen]
    units = [s for s in flat if s.startswith("SELECT unit.id") or "FROM user LEFT OUTER JOIN unit " in s]
    assert len(units) <= 1, units
    assert len(seen) <= TODO_PAGE_STATEMENTS, seen
