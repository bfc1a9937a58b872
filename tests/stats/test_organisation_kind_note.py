"""By organisation type, the SIP meeting table counts the types that coded the SIP, and says so.

A child's SIP held by the region's BUP, Växjö kommun's social services, the municipal school and a friskola
read, by organisation type, "Region 1" and nothing else: the municipality, the school and the friskola took
part but record no KVÅ code. A coordinator took the missing rows for SIPs they had no part in; the table now
says what it counts and where the others' part is (the attendance table, which lists every type).
"""

from __future__ import annotations

from datetime import date

from statskit import coordinator_client

from sipflow.stats.services import indicators


def meeting_table(world, by):
    settings = world.settings()
    settings.threshold = 1
    answer = indicators(world.session, world.query(by=by), settings)
    return next(t for t in answer["tables"] if t["key"] == "meetings")


def test_by_organisation_type_the_meeting_table_says_a_sip_counts_where_it_was_coded(world):
    world.meeting(world.case(world.person()), date(2026, 2, 10))
    table = meeting_table(world, "organisation_kind")
    assert [(row["organisation_kind"], row["sips"]) for row in table["rows"]] == [("Region", 1)]
    assert table["note"].startswith("Per organisationstyp räknas ett SIP-möte för varje typ vars hälso- och ")
    assert "Närvaro per organisationstyp" in table["note"]
    # Other breakdowns count every SIP once: no such note (only the one of the persons' total).
    assert "organisationstyp" not in meeting_table(world, "municipality")["note"]


def test_the_page_shows_the_note_under_the_table(client, make_user, db_session):
    coordinator = coordinator_client(client, make_user, db_session, "kind-note")
    asked = {"from": "2026-01-01", "to": "2026-03-31", "by": "organisation_kind"}
    page = coordinator.get("/statistik/", query_string=asked).get_data(as_text=True)
    assert 'id="note-meetings"' in page
