"""A participant who may read the plan but not write it sees the plan, not the editor's hints: no list of
what is missing before it is established, no "save first", no field errors beside fields they cannot change.
"""

from __future__ import annotations

import pytest
from plankit import complete_data, save
from webkit import login, text_of

from sipflow.clock import now_utc

pytestmark = pytest.mark.usefixtures("frozen_clock")

EDITOR_HINTS = (
    "Det här saknas innan planen kan fastställas",
    "Spara planen först",
    "Skriv vem som är ansvarig.",
    "Det finns ett problem",
    "field-errors",
)


def _unowned_plan(db_session, parties, held):
    """A saved plan with an effort that names no person responsible: the editor marks it, and the plan is
    not yet complete (huvudansvar aside)."""
    now = now_utc()
    data = complete_data(held, parties, now)
    next(e for e in data["efforts"] if e["kind"] == "effort")["responsible"] = None
    save(db_session, held, parties.region_user, data, now)


def test_a_reader_sees_the_plan_without_the_editors_gap_list_hints_or_field_errors(
    client, db_session, parties, held
):
    _unowned_plan(db_session, parties, held)
    assert login(client, parties.municipality_user.username).status_code == 302
    html = text_of(client.get(f"/cases/{held.uid}/plan"))
    assert "Din organisation får läsa planen" in html
    assert "Boendestöd två gånger i veckan" in html  # the plan itself is shown
    assert [hint for hint in EDITOR_HINTS if hint in html] == []


def test_the_writer_still_gets_the_gap_list_and_the_field_errors(client, db_session, parties, held):
    _unowned_plan(db_session, parties, held)
    assert login(client, parties.region_user.username).status_code == 302
    html = text_of(client.get(f"/cases/{held.uid}/plan"))
    assert "Det här saknas innan planen kan fastställas" in html and "Spara planen först" in html
    assert "Skriv vem som är ansvarig." in html
