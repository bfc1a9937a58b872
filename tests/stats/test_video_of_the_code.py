"""Filtered on a SIP code, a SIP counts as held by video only when a unit recording that code took part by
video: ZV051 is an add-on to the SIP code of the unit that gave care at a distance.

A meeting where the vårdcentral (XU045) sat in the room with the person and the municipality's home health
care (AU124) joined by video is the municipality's video SIP, not the region's: the region's own KVÅ
statistics (XU045 with ZV051 on the same contact) count it as on site, and a coordinator comparing
sipflow's "XU045, by video" with them found one too many.
"""

from __future__ import annotations

from datetime import date

from sqlmodel import select

from sipflow.coding.models import CodeRecord
from sipflow.stats.services import indicators


def total(world, **options):
    settings = world.settings()
    settings.threshold = 1  # a hand-made answer of one meeting: disclosure control is tested apart
    answer = indicators(world.session, world.query(**options), settings)
    return next(t for t in answer["tables"] if t["key"] == "meetings")["total"]


def test_a_sip_code_filter_counts_the_video_of_that_codes_units_only(world, make_unit):
    home_care = make_unit("municipality", "Nybro kommun hemsjukvård", health_care=True)
    case = world.case(world.person())
    meeting = world.meeting(case, date(2026, 2, 3), units=[world.region, home_care])
    day, kind = date(2026, 2, 3), "first"
    for record in world.session.exec(select(CodeRecord).where(CodeRecord.unit_id == home_care.id)):
        record.code = "AU124"
    world.record(case, meeting, home_care, "ZV051", "distance", day, kind, "0881", "female", 40)

    # The meeting was held partly by video: unfiltered, it is a SIP by video.
    assert (total(world)["sips"], total(world)["video"]) == (1, 1)
    # The municipality's SIP: its unit took part by video.
    assert (total(world, code="AU124")["sips"], total(world, code="AU124")["video"]) == (1, 1)
    # The region's SIP: its unit was on site.
    assert (total(world, code="XU045")["sips"], total(world, code="XU045")["video"]) == (1, 0)
