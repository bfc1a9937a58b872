"""The migration that keeps each approval's party fills it in for the approvals already given; of two rows
one party got for one version (the race the key now refuses), the first keeps it and the second stays."""

from __future__ import annotations

from migrationkit import REGION_AND_MUNICIPALITY, a_case, a_person, upgraded_from
from sqlalchemy import text

BEFORE = "d5e7f9a1b3c6"


def test_approvals_already_given_get_their_party_and_a_second_of_one_party_is_kept_without(tmp_path):
    rows = [
        REGION_AND_MUNICIPALITY,
        a_person(),
        a_case(1, state="planning", occasion="other", initiator=7),
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
    with upgraded_from(tmp_path, BEFORE, rows) as connection:
        found = connection.execute(text("SELECT id, party FROM planapproval ORDER BY id")).all()
    assert found == [(1, None), (2, "organisation:8"), (3, "organisation:7"), (4, "person")]
