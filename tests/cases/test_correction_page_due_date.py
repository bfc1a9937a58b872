"""The page correcting the utskrivningsklar time shows the kallelse deadline that moves with it as the other
lists do: a deadline counted in whole days as its date (queries.local_due), not as '23:59'."""

from __future__ import annotations

from datetime import datetime

import pytest
from webkit import login, text_of

from sipflow.clock import local_to_utc

pytestmark = pytest.mark.usefixtures("frozen_clock")


def test_the_correction_page_shows_the_kallelse_deadline_as_its_date(client, parties, create_case):
    # Reported on Friday 30 October 2026 at 16:00: the third day is Monday 2 November, a working day.
    case = create_case("sip_discharge", utskrivningsklar_at=local_to_utc(datetime(2026, 10, 30, 16, 0)))
    login(client, parties.region_user.username)
    page = text_of(client.get(f"/cases/{case.uid}/utskrivningsklar"))
    assert "senast 2026-11-02" in page
    assert "2026-11-02 23:59" not in page
