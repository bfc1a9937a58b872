"""The migration that makes the initiator role the organisation's gives it to the starting organisation's
other units already on a SIP, and to no other row."""

from __future__ import annotations

from migrationkit import REGION_AND_MUNICIPALITY, a_case, a_person, upgraded_from
from sqlalchemy import text

BEFORE = "a1c3e5b7d9f2"


def test_the_starting_organisations_other_units_become_initiator(tmp_path):
    rows = [
        REGION_AND_MUNICIPALITY,
        a_person(),
        a_case(1, state="requested", occasion="other_need", initiator=8),
        a_case(2, state="requested", occasion="other_need", initiator=7),
        # SIP 1, started by the municipality's socialtjänst: its boendestöd, the region, the person. SIP 2,
        # started by the region, whose huvudansvar the municipality's two units hold.
        "INSERT INTO participant (id, case_id, kind, role, organisation_id, added_at) VALUES "
        "(1, 1, 'organisation', 'initiator', 8, '2026-12-01'), (2, 1, 'organisation', 'participant', 8, "
        "'2026-12-01'), (3, 1, 'organisation', 'participant', 7, '2026-12-01'), "
        "(4, 1, 'person', 'participant', NULL, '2026-12-01'), "
        "(5, 2, 'organisation', 'initiator', 7, '2026-12-01'), (6, 2, 'organisation', 'huvudansvarig', 8, "
        "'2026-12-01'), (7, 2, 'organisation', 'huvudansvarig', 8, '2026-12-01')",
    ]
    with upgraded_from(tmp_path, BEFORE, rows) as connection:
        roles = connection.execute(text("SELECT id, role FROM participant ORDER BY id")).all()
    assert roles == [
        (1, "initiator"),
        (2, "initiator"),
        (3, "participant"),
        (4, "participant"),
        (5, "initiator"),
        (6, "huvudansvarig"),
        (7, "huvudansvarig"),
    ]
