"""The migration that makes the initiator role the organisation's gives it to the starting organisation's
other units already on a SIP, and to no other row."""

from __future__ import annotations

from alembic import command
from sqlalchemy import create_engine, text

from sipflow.cli import alembic_config

BEFORE = "a1c3e5b7d9f2"


def test_the_starting_organisations_other_units_become_initiator(tmp_path):
    url = f"sqlite:///{tmp_path / 'roles.sqlite3'}"
    command.upgrade(alembic_config(url), BEFORE)
    engine = create_engine(url)
    rows = [
        "INSERT INTO organisation (id, key, name, kind) VALUES (7, 'o7', 'Region Kronoberg', 'region'), "
        "(8, 'o8', 'Växjö kommun', 'municipality')",
        "INSERT INTO person (id, id_kind, id_number, id_hash, given_name, family_name, legal_sex, "
        "home_municipality_code, created_at) "
        "VALUES (1, 'pnr', 'x', 'h', 'A', 'B', 'F', '0780', '2026-12-01')",
        "INSERT INTO sipcase (id, uid, reference, workflow_name, workflow_version, state, occasion, version, "
        "person_id, initiating_organisation_id, requested_at, created_at, updated_at, municipality_code) "
        "VALUES (1, 'c1', 'SIP-1', 'sip', 1, 'requested', 'other_need', 1, 1, 8, '2026-12-01', "
        "'2026-12-01', '2026-12-01', '0780'), "
        "(2, 'c2', 'SIP-2', 'sip', 1, 'requested', 'other_need', 1, 1, 7, "
        "'2026-12-01', '2026-12-01', '2026-12-01', '0780')",
        # SIP 1, started by the municipality's socialtjänst: its boendestöd, the region, the person. SIP 2,
        # started by the region, whose huvudansvar the municipality's two units hold.
        "INSERT INTO participant (id, case_id, kind, role, organisation_id, added_at) VALUES "
        "(1, 1, 'organisation', 'initiator', 8, '2026-12-01'), (2, 1, 'organisation', 'participant', 8, "
        "'2026-12-01'), (3, 1, 'organisation', 'participant', 7, '2026-12-01'), "
        "(4, 1, 'person', 'participant', NULL, '2026-12-01'), "
        "(5, 2, 'organisation', 'initiator', 7, '2026-12-01'), (6, 2, 'organisation', 'huvudansvarig', 8, "
        "'2026-12-01'), (7, 2, 'organisation', 'huvudansvarig', 8, '2026-12-01')",
    ]
    try:
        with engine.begin() as connection:
            for row in rows:
                connection.execute(text(row))
        command.upgrade(alembic_config(url), "head")
        with engine.connect() as connection:
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
    finally:
        engine.dispose()
