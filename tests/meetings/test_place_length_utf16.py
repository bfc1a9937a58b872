"""A meeting's address is as long as the browser counts it against the field's maxlength (UTF-16 code
units: an emoji is two), and a too long one is refused in sipflow's own words, as every other field is."""

from __future__ import annotations

import re

import pytest
from sqlmodel import select
from test_meeting_pages import a_weekday_ahead, submit_booking
from webkit import login, text_of

from sipflow.meetings.models import Meeting

WTFORMS_WORDING = "Fältet får inte vara längre än"


def _book(client, case, location):
    return submit_booking(
        client,
        case,
        date=a_weekday_ahead().isoformat(),
        starts="13:00",
        ends="14:00",
        mode="on_site",
        location=location,
    )


def _location_error(html: str) -> str:
    start = html.index('id="location-error"')
    return html[start : html.index("</", start)]


@pytest.mark.parametrize("location", ["a" * 201, "🎉" * 101, "🎉" * 150])
def test_an_address_over_200_browser_units_is_refused_in_sipflows_words(
    client, parties, db_session, ready, location
):
    login(client, parties.region_user.username)
    response = _book(client, ready.case, location)
    assert response.status_code == 400
    html = text_of(response)
    assert "Högst 200 tecken." in _location_error(html)
    assert WTFORMS_WORDING not in html
    assert not db_session.exec(select(Meeting)).all()


def test_an_address_the_browser_lets_through_is_kept_and_fits_the_change_form(
    client, parties, db_session, ready
):
    location = "Storgatan 5 " + "🎉" * 94  # 12 + 188 = 200 UTF-16 units, 106 characters
    login(client, parties.region_user.username)
    response = _book(client, ready.case, location)
    assert response.status_code == 303, text_of(response)
    meeting = db_session.exec(select(Meeting)).one()
    assert meeting.location == location
    page = text_of(client.get(f"/cases/{ready.case.uid}/meetings/{meeting.id}"))
    field = re.search(r'<input[^>]*id="change-location"[^>]*>', page).group(0)
    assert 'maxlength="200"' in field
    assert len(location.encode("utf-16-le")) // 2 <= 200
