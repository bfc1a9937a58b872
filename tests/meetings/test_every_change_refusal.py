"""The meeting page's change form refuses every field at fault at once, and asks to confirm a day off with
them: the user fixes everything and confirms the day in one further send, not one round per refusal."""

from __future__ import annotations

from datetime import date

from webkit import fill, forms_of, login, text_of

from sipflow.clock import to_local
from sipflow.meetings.models import Meeting
from sipflow.people.models import Person

MIDSOMMARAFTON = date(2027, 6, 25)
END_BEFORE_START = "Mötet måste sluta efter att det börjat."
DAY_OFF = "Mötet är på midsommarafton, en dag då de flesta är lediga."
NAMES_THE_PERSON = "namnet på personen"


def _error_of(html: str, field_id: str) -> str:
    """The text of the error shown beside the field field_id."""
    start = html.index(f'id="{field_id}-error"')
    return html[start : html.index("</", start)]


def test_the_end_the_place_and_the_day_off_come_in_one_round(client, parties, db_session, ready, book):
    meeting = book()
    as_region = client
    login(client, parties.region_user.username)
    family_name = db_session.get(Person, ready.case.person_id).family_name
    address = f"Hos {family_name}, Storgatan 5"
    url = f"/cases/{ready.case.uid}/meetings/{meeting.id}"
    form = forms_of(text_of(as_region.get(url)))[f"{url}/change"]
    typed = {
        "change-date": MIDSOMMARAFTON.isoformat(),
        "change-starts": "10:00",
        "change-ends": "09:30",
        "change-mode": "on_site",
        "change-location": address,
    }
    refused = as_region.post(f"{url}/change", data=fill(form, **typed))
    assert refused.status_code == 400
    html = text_of(refused)
    assert END_BEFORE_START in _error_of(html, "change-ends")
    assert NAMES_THE_PERSON in _error_of(html, "change-location")
    assert DAY_OFF in _error_of(html, "change-date")
    assert "Boka ändå" in html and 'name="change-confirm_day"' in html
    # What was typed is kept.
    assert 'value="09:30"' in html and family_name in html
    db_session.expire_all()
    assert db_session.get(Meeting, meeting.id).sequence == 0

    # Everything fixed and the day confirmed: one further send changes the meeting.
    again = forms_of(html)[f"{url}/change"]
    fixed = {"change-ends": "11:00", "change-location": "Storgatan 5", "change-confirm_day": "y"}
    changed = as_region.post(f"{url}/change", data=fill(again, **fixed))
    assert changed.status_code == 303, text_of(changed)
    db_session.expire_all()
    moved = db_session.get(Meeting, meeting.id)
    assert to_local(moved.starts_at).date() == MIDSOMMARAFTON
    assert (moved.location, moved.sequence) == ("Storgatan 5", 1)
