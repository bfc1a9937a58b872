"""An unknown address under /statistik/ ending in .json answers JSON, as every other refusal there."""

from __future__ import annotations

from statskit import coordinator_client


def test_an_unknown_statistics_json_address_answers_json(client, make_user, db_session):
    coordinator = coordinator_client(client, make_user, db_session, "kerstin-404")
    response = coordinator.get("/statistik/nonexistent.json")
    assert response.status_code == 404 and response.is_json
    assert response.get_json()["error"] == "not_found" and response.get_json()["reason"]
    page = coordinator.get("/statistik/nonexistent")
    assert page.status_code == 404 and not page.is_json
