"""The migration that gives a hand-over its organisation fills it in for the hand-overs already made."""

from __future__ import annotations

from migrationkit import REGION_AND_MUNICIPALITY, a_case, a_person, upgraded_from
from sqlalchemy import text

BEFORE = "d4f6a8c0e2b1"


def test_a_hand_over_already_made_gets_its_users_organisation_and_one_without_a_user_none(tmp_path):
    rows = [
        REGION_AND_MUNICIPALITY,
        "INSERT INTO unit (id, key, organisation_id, name, is_health_care) "
        "VALUES (5, 'u5', 7, 'Psykiatri', 1)",
        'INSERT INTO "user" (id, username, display_name, password_hash, unit_id, roles, active, '
        "session_token) VALUES (3, 'ek', 'Anna Ek', 'x', 5, 'staff', 1, 't3')",
        a_person(),
        a_case(1, state="planning", occasion="other", initiator=7),
        "INSERT INTO huvudansvartransfer (id, case_id, at, user_id, to_organisation_id) "
        "VALUES (1, 1, '2026-12-01 10:00:00', 3, 8), (2, 1, '2026-12-02 10:00:00', NULL, 7)",
    ]
    with upgraded_from(tmp_path, BEFORE, rows) as connection:
        found = connection.execute(text("SELECT id, organisation_id FROM huvudansvartransfer ORDER BY id"))
        assert found.all() == [(1, 7), (2, None)]
