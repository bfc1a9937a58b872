"""ZV051 is an add-on code: a unit records it with its own SIP code, never alone.

A friskola's elevhälsa (a school nurse: health care, with no SIP code assigned to its kind) joined a child's
SIP by video while the region's unit, the one recording the SIP, sat on site. It recorded ZV051 alone, and
the coordinator's "SIP via video" counted the SIP as held by video, though by organisation type no row
showed a video SIP.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import support
from codingkit import hold, records, to_meeting

from sipflow.coding.rules import Catalogue, UnitFacts, codes_for_meeting
from sipflow.stats.services import indicators, parse_query, settings_from

pytestmark = pytest.mark.usefixtures("catalogue")


def test_a_unit_without_a_sip_code_records_no_distance_code():
    region = UnitFacts(1, 10, "region", True)
    school_nurse = UnitFacts(2, 20, "friskola", True)
    catalogue = Catalogue(by_organisation_kind={"region": "XU045"}, distance=("ZV051",))
    choices = codes_for_meeting([(region, "on_site"), (school_nurse, "video")], catalogue)
    assert [(c.unit.unit_id, c.code) for c in choices] == [(1, "XU045")]


def test_a_sip_held_on_site_by_its_coded_units_is_not_counted_as_by_video(
    db_session, app, registry, parties, make_unit, make_person, now
):
    friskola = make_unit("friskola", "Lärande Friskola", health_care=True)
    case = support.new_case(
        db_session,
        registry,
        parties.region_user,
        workflow="sip_child",
        person=make_person(birth=date(2014, 3, 1)),
        unit_ids=[parties.municipality.id, parties.school.id, friskola.id],
        now=now,
    )
    db_session.commit()
    to_meeting(db_session, registry, parties.region_user, case, now)
    on_site = {parties.region.id: "on_site", parties.municipality.id: "on_site", parties.school.id: "on_site"}
    hold(
        db_session,
        registry,
        parties.region_user,
        case,
        now + timedelta(days=7),
        on_site | {friskola.id: "video"},
    )
    assert [(r.unit_id, r.code) for r in records(db_session, case)] == [(parties.region.id, "XU045")]

    settings = settings_from(app.config, registry)
    settings.threshold = 1
    totals = {}
    for by in ("", "organisation_kind"):
        query = parse_query(
            db_session, start="2026-01-01", end="2026-12-31", by=by, now=now + timedelta(days=30)
        )
        meetings = next(
            t for t in indicators(db_session, query, settings)["tables"] if t["key"] == "meetings"
        )
        totals[by] = (meetings["total"]["sips"], meetings["total"]["video"])
    # One SIP, not by video, whichever way it is broken down; it is still partly digital (attendance).
    assert totals == {"": (1, 0), "organisation_kind": (1, 0)}
