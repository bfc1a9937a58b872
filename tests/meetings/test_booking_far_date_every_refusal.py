"""A booking whose date the form refuses (beyond the two years a meeting is booked ahead) still shows the
service's refusals of the other fields in the same send: an end before the start and a place holding the
person's name, each at its field, with what was typed kept."""

from __future__ import annotations

from sqlmodel import select
from webkit import beside_fields, fill, forms_of, login, text_of

from sipflow.meetings.models import Meeting
from sipflow.people.models import Person

TOO_FAR = "högst 2 år"
END_BEFORE_START = "Mötet måste sluta efter att det börjat."
NAME_IN_PLACE = "Här står namnet på personen"


def _error_of(html: str, field_id: str) -> str:
    """The text of the error shown beside the field field_id."""
    start = html.index(f'id="{field_id}-error"')
    return html[start : html.index("</", start)]


def test_a_date_too_far_the_end_and_the_place_are_refused_together(client, parties, db_session, ready):
    person = db_session.get(Person, ready.case.person_id)
    login(client, parties.region_user.username)
    url = f"/cases/{ready.case.uid}/meetings/new"
    form = forms_of(text_of(client.get(url)))[url]
    place = f"Hos {person.family_name}, Storgatan 1"
    refused = client.post(
        url,
        data=fill(form, date="2126-12-01", starts="10:00", ends="09:00", mode="on_site", location=place),
    )
    assert refused.status_code == 400
    html = text_of(refused)
    assert TOO_FAR in _error_of(html, "date")
    assert END_BEFORE_START in _error_of(html, "ends")
    assert NAME_IN_PLACE in _error_of(html, "location")
    # The start is refused at the date alone (the service's start refusal is the date's), never twice.
    assert 'id="starts-error"' not in html
    assert beside_fields(html).count(TOO_FAR) == 1
    assert "2126-12-01" in html and "Storgatan 1" in html
    assert not db_session.exec(select(Meeting)).all()
