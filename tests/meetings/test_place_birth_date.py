"""A meeting's room holding the person's birth date as a personnummer with a wrong check digit is refused at
its field (it would tell the birth date in every invitee's e-mail); the meeting's own date is not."""

from __future__ import annotations

from sqlmodel import select
from test_meeting_pages import a_weekday_ahead, submit_booking
from webkit import login, text_of

from sipflow.meetings.models import Meeting
from sipflow.people.identifiers import luhn_check_digit
from sipflow.people.models import Person

LOOKS_LIKE_A_NUMBER = "Det här ser ut som ett personnummer"


def _error_of(html: str, field_id: str) -> str:
    start = html.index(f'id="{field_id}-error"')
    return html[start : html.index("</", start)]


def test_the_persons_birth_date_with_a_wrong_check_digit_is_refused_in_the_room(
    client, parties, db_session, ready
):
    birth = db_session.get(Person, ready.case.person_id).birth_date
    wrong = (luhn_check_digit(f"{birth:%y%m%d}101") + 1) % 10
    room = f"{birth:%Y%m%d}-101{wrong}"
    day = a_weekday_ahead()
    login(client, parties.region_user.username)
    response = submit_booking(
        client,
        ready.case,
        date=day.isoformat(),
        starts="13:00",
        ends="14:00",
        mode="on_site",
        location=f"Storgatan 5, möte {day.isoformat()}",
        room=room,
    )
    assert response.status_code == 400
    html = text_of(response)
    assert LOOKS_LIKE_A_NUMBER in _error_of(html, "room")
    assert 'id="location-error"' not in html
    assert f'value="{room}"' in html
    assert not db_session.exec(select(Meeting)).all()
