"""The migration that gives a hand-over its organisation fills it in for the hand-overs already made."""

from __future__ import annotations

from alembic import command
from sqlalchemy import create_engine, text

from sipflow.cli import alembic_config

BEFORE = "d4f6a8c0e2b1"


def test_a_hand_over_already_made_gets_its_users_organisation_and_one_without_a_user_none(tmp_path):
    url = f"sqlite:///{tmp_path / 'transfers.sqlite3'}"
    command.upgrade(alembic_config(url), BEFORE)
    engine = create_engine(url)
    rows = [
        "INSERT INTO organisation (id, key, name, kind) VALUES (7, 'o7', 'Region Kronoberg', 'region'), "
        "(8, 'o8', 'Växjö kommun', 'municipality')",
        "INSERT INTO unit (id, key, organisation_id, name, is_health_care) "
        "VALUES (5, 'u5', 7, 'Psykiatri', 1)",
        'INSERT INTO "user" (id, username, display_name, password_hash, unit_id, roles, active, '
        "session_token) VALUES (3, 'ek', 'Anna Ek', 'x', 5, 'staff', 1, 't3')",
        "INSERT INTO person (id, id_kind, id_number, id_hash, given_name, family_name, legal_sex, "
        "home_municipality_code, created_at) "
        "VALUES (1, 'pnr', 'x', 'h', 'A', 'B', 'F', '0780', '2026-12-01')",
        "INSERT INTO sipcase (id, uid, reference, workflow_name, workflow_version, state, occasion, version, "
        "person_id, initiating_organisation_id, requested_at, created_at, updated_at, municipality_code) "
        "VALUES (1, 'c1', 'SIP-1', 'sip', 1, 'planning', 'other', 1, 1, 7, '2026-12-01', '2026-12-01', "
        "'2026-12-01', '0780')",
        "INSERT INTO huvudansvartransfer (id, case_id, at, user_id, to_organisation_id) "
        "VALUES (1, 1, '2026-12-01 10:00:00', 3, 8), (2, 1, '2026-12-02 10:00:00', NULL, 7)",
    ]
    try:
        with engine.begin() as connection:
            for row in rows:
                connection.execute(text(row))
        command.upgrade(alembic_config(url), "head")
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT id, organisation_id FROM huvudansvartransfer ORDER BY id"))
            assert rows.all() == [(1, 7), (2, None)]
    finally:
        engine.dispose()
