"""The booking page refuses a place that identifies the person however it is written (people.identifying).

A personnummer written apart ("1990 01 01 - 0017"), the family name in the genitive, a given name split by
a hyphen, and the name of a närstående taking part are each refused at their field, with nothing booked
and what was typed kept; a removed närstående's name, no longer taking part, is not.
"""

from __future__ import annotations

import html

import pytest
from sqlmodel import select
from test_meeting_pages import a_weekday_ahead, submit_booking
from webkit import login, text_of

from sipflow.clock import now_utc
from sipflow.db import unit_of_work
from sipflow.meetings.models import Meeting
from sipflow.people.models import Person


@pytest.fixture
def as_region(client, parties):
    login(client, parties.region_user.username)
    return client


def _book(client, case, location: str):
    return submit_booking(
        client,
        case,
        date=a_weekday_ahead().isoformat(),
        starts="13:00",
        ends="14:00",
        mode="on_site",
        location=location,
    )


def _location_error(page: str) -> str:
    return page[page.index('id="location-error"') :].split("</", 1)[0]


def _places(person: Person) -> list[tuple[str, str]]:
    given, family = person.given_name, person.family_name
    return [
        ("Storgatan 5, 1990 01 01 - 0017", "personnummer"),
        (f"{family}s hem, Storgatan 1", "namnet på personen"),
        (f"Hos {given[:2]}-{given[2:]}", "namnet på personen"),
        ("Hos Eva (syster), Storgatan 1", "namnet på en närstående, vårdnadshavare eller ställföreträdare"),
    ]


@pytest.mark.parametrize("which", range(4))
def test_a_place_identifying_the_person_written_around_the_rule_is_refused_at_its_field(
    as_region, db_session, ready, which
):
    person = db_session.get(Person, ready.case.person_id)
    location, said = _places(person)[which]
    response = _book(as_region, ready.case, location)
    page = text_of(response)
    assert response.status_code == 400, location
    assert said in _location_error(page)
    assert f'value="{html.escape(location)}"' in page
    assert db_session.exec(select(Meeting).where(Meeting.case_id == ready.case.id)).all() == []


def test_a_removed_narstaende_s_name_no_longer_counts(as_region, db_session, registry, parties, ready):
    from sipflow.cases import services

    with unit_of_work(db_session):
        services.remove_participant(
            db_session,
            registry,
            ready.case,
            parties.region_user,
            ready.relative.id,
            reason="Tar inte längre del",
            now=now_utc(),
            expected_version=ready.case.version,
        )
    response = _book(as_region, ready.case, "Hos Eva, Storgatan 1")
    assert response.status_code == 303, text_of(response)
