"""A SIP offered and a follow-up due stay in their age band when the person is anonymised: retention cuts the
birth date to its year, and the ages the statistics count are kept from the whole one before it is cut."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sipflow.cases.models import Deadline
from sipflow.retention.anonymise import RetentionPolicy, anonymise_person
from sipflow.stats.services import indicators

# Born in December: 17 in June and in October 2026 by the whole birth date, 18 by 1 January 2008.
BIRTH = date(2008, 12, 1)
REQUESTED = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
FOLLOW_UP_DUE = datetime(2026, 10, 1, 8, 0, tzinfo=UTC)


def by_age_band(world) -> list[tuple]:
    settings = world.settings()
    settings.threshold = 1  # one person: disclosure control is tested apart
    answer = indicators(
        world.session, world.query(start="2026-01-01", end="2026-12-31", by="age_band"), settings
    )
    table = next(t for t in answer["tables"] if t["key"] == "outcomes")
    return [(row["age_band"], row["offered"], row["follow_ups_due"]) for row in table["rows"]]


def test_an_anonymised_persons_sip_and_follow_up_keep_their_age_band(world, app):
    person = world.person(birth=BIRTH)
    case = world.case(person, requested=REQUESTED)
    world.session.add(Deadline(case_id=case.id, kind="follow_up", due_at=FOLLOW_UP_DUE))
    world.session.flush()
    before = by_age_band(world)
    assert [(band, offered, due) for band, offered, due in before if offered or due] == [("0–17", 1, 1)]

    anonymise_person(world.session, person, now=world.now, policy=RetentionPolicy.from_app(app))
    world.session.flush()
    assert person.birth_date == date(2008, 1, 1)
    assert by_age_band(world) == before
