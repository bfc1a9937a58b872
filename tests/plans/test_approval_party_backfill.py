"""The migration that keeps each approval's party fills it in for the approvals already given; of two rows
one party got for one version (the race the key now refuses), the first keeps it and the second stays."""

from __future__ import annotations

from alembic import command
from sqlalchemy import create_engine, text

from sipflow.cli import alembic_config

BEFORE = "d5e7f9a1b3c6"


def test_approvals_already_given_get_their_party_and_a_second_of_one_party_is_kept_without(tmp_path):
    url = f"sqlite:///{tmp_path / 'approvals.sqlite3'}"
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
        "VALUES (1, 'c1', 'SIP-1', 'sip', 1, 'planning', 'other', 1, 1, 7, '2026-12-01', '2026-12-01', "
        "'2026-12-01', '0780')",
        # The region, two units of the municipality, the person.
        "INSERT INTO participant (id, case_id, kind, role, organisation_id, added_at) VALUES "
        "(1, 1, 'organisation', 'initiator', 7, '2026-12-01'), (2, 1, 'organisation', 'participant', 8, "
        "'2026-12-01'), (3, 1, 'organisation', 'participant', 8, '2026-12-01'), "
        "(4, 1, 'person', 'participant', NULL, '2026-12-01')",
        "INSERT INTO planversion (id, case_id, number, trigger, established_at, content, pdf, pdf_sha256) "
        "VALUES (1, 1, 1, 'establish_plan', '2026-12-02', '{}', x'00', 'x')",
        "INSERT INTO planapproval (id, version_id, participant_id, method, approved_at) VALUES "
        "(1, 1, 3, 'paper', '2026-12-03 10:00:00'), (2, 1, 2, 'meeting', '2026-12-03 09:00:00'), "
        "(3, 1, 1, 'meeting', '2026-12-03 09:00:00'), (4, 1, 4, 'digital', '2026-12-04 09:00:00')",
    ]
    try:
        with engine.begin() as connection:
            for row in rows:
                connection.execute(text(row))
        command.upgrade(alembic_config(url), "head")
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT id, party FROM planapproval ORDER BY id"))
            assert rows.all() == [(1, None), (2, "organisation:8"), (3, "organisation:7"), (4, "person")]
    finally:
        engine.dispose()
