"""The night summer time ends (25 October 2026) the clocks show 02:00-03:00 twice. A time in that hour, shown
by wall clock alone, named two moments, and the case page's timeline showed consent given at 02:10 after the
SIP was started at 02:40, as if time went back: the page says which showing each one is."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import support
from webkit import login, text_of

from sipflow.cases.queries import local_datetime

pytestmark = pytest.mark.usefixtures("frozen_clock")

SUMMER = datetime(2026, 10, 25, 0, 40, tzinfo=UTC)  # 02:40 summer time (+02:00)
STANDARD = datetime(2026, 10, 25, 1, 10, tzinfo=UTC)  # 02:10 standard time (+01:00), half an hour later


def test_a_time_in_the_repeated_hour_says_which_showing_and_no_other_time_does(app):
    with app.test_request_context("/?lang=en"):
        assert local_datetime(SUMMER) == "2026-10-25 02:40 (summer time)"
        assert local_datetime(STANDARD) == "2026-10-25 02:10 (standard time)"
        assert local_datetime(datetime(2026, 10, 24, 23, 59, tzinfo=UTC)) == "2026-10-25 01:59"
        assert local_datetime(datetime(2026, 10, 25, 2, 0, tzinfo=UTC)) == "2026-10-25 03:00"
        # The spring night's skipped hour shows no time twice.
        assert local_datetime(datetime(2027, 3, 28, 1, 0, tzinfo=UTC)) == "2027-03-28 03:00"


def test_the_case_page_timeline_tells_the_two_showings_of_the_hour_apart(
    client, db_session, registry, parties, make_person
):
    person = make_person()
    case = support.new_case(
        db_session,
        registry,
        parties.region_user,
        workflow="sip",
        person=person,
        unit_ids=[parties.municipality.id],
        now=SUMMER,
    )
    db_session.commit()
    support.fire(db_session, registry, parties.region_user, case, "give_consent", now=STANDARD)
    login(client, parties.region_user.username)
    page = text_of(client.get(f"/cases/{case.uid}"))
    # The timeline, in the order the steps were taken: started 02:40 summer time, consent 02:10 after it.
    timeline = page[page.index("Händelser") :]
    assert timeline.index("2026-10-25 02:40 (sommartid)") < timeline.index("2026-10-25 02:10 (normaltid)")
