"""A meeting's place never identifies the person: no personnummer, no name of theirs (meetings.place).

The address and the room go into every invitee's e-mail, the .ics and the staff calendar feed; every form
that writes them (booking, change, a kallelse recorded from another system) refuses such a place at its
field, keeping what was typed, and books or changes nothing.
"""

from __future__ import annotations

import html
import string
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from meetingkit import everyone, next_week_at
from sqlmodel import select
from test_meeting_pages import _meeting_page, a_weekday_ahead, submit_booking
from webkit import fill, forms_of, login, text_of

from sipflow.clock import now_utc
from sipflow.db import unit_of_work
from sipflow.errors import InvalidInput, InvalidInputs
from sipflow.meetings import services
from sipflow.meetings.models import Meeting
from sipflow.meetings.place import holds_identifier, name_words, place_refusal
from sipflow.people.identifiers import luhn_check_digit

TODAY = date(2026, 11, 2)
NAMES = name_words("Åsa Maria", "Öberg-Test")


def _number(day: date, serial: int, *, coordination: bool = False) -> tuple[str, str]:
    """A valid identifier born on day: (YYMMDD or its samordningsnummer, the four last digits)."""
    yymmdd = f"{day:%y%m}{day.day + (60 if coordination else 0):02d}"
    nine = f"{yymmdd}{serial:03d}"
    return yymmdd, f"{serial:03d}{luhn_check_digit(nine)}"


@given(
    day=st.dates(min_value=date(1910, 1, 1), max_value=TODAY),
    serial=st.integers(min_value=0, max_value=999),
    coordination=st.booleans(),
    long_form=st.booleans(),
    separator=st.sampled_from(["-", "", " "]),
    before=st.text(alphabet=string.ascii_letters + " ,åäö", max_size=12),
    after=st.text(alphabet=string.ascii_letters + " ,åäö", max_size=12),
)
def test_a_valid_identifier_anywhere_in_a_place_is_found(
    day, serial, coordination, long_form, separator, before, after
):
    yymmdd, tail = _number(day, serial, coordination=coordination)
    if long_form:
        number = f"{day.year // 100}{yymmdd}{separator}{tail}"
    else:
        # A short form of someone a hundred or more is written with "+", as Skatteverket does.
        centenarian = (TODAY.year - day.year, TODAY.month, TODAY.day) >= (100, day.month, day.day)
        number = f"{yymmdd}{'+' if centenarian else separator}{tail}"
    assert holds_identifier(f"{before} {number} {after}", today=TODAY)
    assert place_refusal(f"{before}{number}", NAMES, today=TODAY) is not None


@given(
    # A four-digit area code whose last two digits are a month (0411) followed by six digits in pairs reads
    # as YYMMDD-NNNN written apart, and one in ten such has the check digit right (people.identifying).
    area=st.integers(min_value=10, max_value=999).filter(
        lambda area: area < 100 or not 1 <= area % 100 <= 12
    ),
    number=st.integers(min_value=10000, max_value=99999999),
    postcode=st.integers(min_value=10000, max_value=99999),
)
def test_phone_numbers_and_postcodes_pass(area, number, postcode):
    """A phone number written as people write them, with its area code apart, and a postcode."""
    digits = str(number)
    grouped = " ".join(digits[i : i + 2] for i in range(0, len(digits), 2))
    for place in (
        f"Ring 0{area}-{digits} vid entrén",
        f"Tel 0{area}-{grouped}",
        f"0{area} {grouped}",
        f"Storgatan 5, {str(postcode)[:3]} {str(postcode)[3:]} Växjö",
        "Storgatan 5, 352 30 Växjö, tel 0470-123 45",
    ):
        assert not holds_identifier(place, today=TODAY), place


def test_a_number_the_parser_refuses_is_no_identifier():
    yymmdd, tail = _number(date(1990, 1, 1), 1)
    wrong = tail[:3] + str((int(tail[3]) + 1) % 10)
    assert holds_identifier(f"{yymmdd}-{tail}", today=TODAY)
    assert not holds_identifier(f"{yymmdd}-{wrong}", today=TODAY)  # the check digit
    assert not holds_identifier("901332-0017", today=TODAY)  # no such day
    assert not holds_identifier(f"1{yymmdd}-{tail}", today=TODAY)  # part of a longer number


@pytest.mark.parametrize(
    "place",
    [
        "Hemma hos Åsa Öberg-Test, Storgatan 5",
        "Hos Maria",
        "OBERG, Storgatan 5",
        "hemma hos asa",
        "Familjen Öberg",
        "Test-rummet",
    ],
)
def test_a_name_of_the_person_as_a_word_is_refused_in_any_case_and_without_accents(place):
    assert place_refusal(place, NAMES, today=TODAY) is not None


@pytest.mark.parametrize(
    "place", ["Bergsgatan 4", "Åsgatan 2", "Mariagatan 7", "Testvägen 1", "Rum 12", "Vårdcentralen Teleborg"]
)
def test_a_name_inside_a_longer_word_passes(place):
    assert place_refusal(place, NAMES, today=TODAY) is None


# --- The forms ----------------------------------------------------------------------------------------------


@pytest.fixture
def as_region(client, parties):
    login(client, parties.region_user.username)
    return client


def _person_name(db_session, case) -> str:
    from sipflow.people.models import Person

    person = db_session.get(Person, case.person_id)
    return f"{person.given_name} {person.family_name}"


def test_booking_refuses_a_name_in_the_address_and_a_personnummer_in_the_room_at_their_fields(
    as_region, db_session, ready
):
    address = f"Hemma hos {_person_name(db_session, ready.case)}, Storgatan 5"
    response = submit_booking(
        as_region,
        ready.case,
        date=a_weekday_ahead().isoformat(),
        starts="13:00",
        ends="14:00",
        mode="on_site",
        location=address,
        room="900101-0017",
    )
    page = text_of(response)
    assert response.status_code == 400
    assert db_session.exec(select(Meeting).where(Meeting.case_id == ready.case.id)).all() == []
    location_error = page[page.index('id="location-error"') :].split("</", 1)[0]
    room_error = page[page.index('id="room-error"') :].split("</", 1)[0]
    assert "namnet på personen" in location_error and "personnummer" in room_error
    assert "får inte peka ut personen" in location_error
    # What was typed is kept, to be corrected.
    assert f'value="{html.escape(address)}"' in page and 'value="900101-0017"' in page


def test_a_further_booking_through_the_service_is_refused_alike(db_session, registry, parties, ready, book):
    book()
    data = {
        "meeting_starts_at": next_week_at(14),
        "meeting_ends_at": next_week_at(15),
        "mode": "mixed",
        "location": "Storgatan 5",
        "room": "19900101-0017",
        "invitee_ids": everyone(ready),
    }
    with pytest.raises(InvalidInput) as refused, unit_of_work(db_session):
        services.book(
            db_session,
            registry,
            parties.region_user,
            ready.case,
            data,
            expected_version=ready.case.version,
            now=now_utc(),
        )
    assert refused.value.field == "room" and not isinstance(refused.value, InvalidInputs)


def test_changing_the_place_refuses_the_person_s_name_and_changes_nothing(as_region, db_session, ready, book):
    meeting = book(mode="on_site", location="Storgatan 1")
    _, url, forms = _meeting_page(as_region, db_session, ready.case)
    family_name = _person_name(db_session, ready.case).split()[-1]
    response = as_region.post(
        f"{url}/change",
        data=fill(forms[f"{url}/change"], **{"change-room": f"Rum 3 ({family_name.upper()})"}),
    )
    assert response.status_code == 400
    page = text_of(response)
    assert "namnet på personen" in page[page.index('id="change-room-error"') :].split("</", 1)[0]
    db_session.expire_all()
    assert (db_session.get(Meeting, meeting.id).room, db_session.get(Meeting, meeting.id).sequence) == (
        None,
        0,
    )


def test_a_kallelse_recorded_from_another_system_refuses_a_personnummer_in_its_place(
    as_region, db_session, ready
):
    action = f"/cases/{ready.case.uid}/transitions/send_kallelse"
    form = forms_of(text_of(as_region.get(f"/cases/{ready.case.uid}")))[action]
    starts = (now_utc() + timedelta(days=7)).strftime("%Y-%m-%dT10:00")
    response = as_region.post(
        action,
        data=fill(
            form,
            **{
                "send_kallelse-channel": "LINK",
                "send_kallelse-meeting_starts_at": starts,
                "send_kallelse-mode": "on_site",
                "send_kallelse-location": "Storgatan 5 (900101-0017)",
            },
        ),
    )
    assert response.status_code == 400
    page = text_of(response)
    assert "personnummer" in page[page.index('id="send_kallelse-location-error"') :].split("</", 1)[0]
    db_session.expire_all()
    assert db_session.exec(select(Meeting).where(Meeting.case_id == ready.case.id)).all() == []
