"""A booking refuses every field at fault at once, and asks to confirm a day off with them: the user fixes
everything and confirms the day in one further send, not one round per refusal."""

from __future__ import annotations

from datetime import date

from sqlmodel import select
from webkit import fill, forms_of, login, text_of

from sipflow.meetings.models import Invitation, Meeting

MIDSOMMARAFTON = date(2027, 6, 25)
END_BEFORE_START = "Mötet måste sluta efter att det börjat."
NOT_COVERED = "Samtycket omfattar inte Växjö kommun, så den kan inte se SIP:en."
DAY_OFF = "Mötet är på midsommarafton, en dag då de flesta är lediga."


def _error_of(html: str, field_id: str) -> str:
    """The text of the error shown beside the field field_id."""
    start = html.index(f'id="{field_id}-error"')
    return html[start : html.index("</", start)]


def test_the_end_the_consent_and_the_day_off_come_in_one_round(client, parties, db_session, region_only):
    case, region, municipality, _person = region_only
    login(client, parties.region_user.username)
    url = f"/cases/{case.uid}/meetings/new"
    form = forms_of(text_of(client.get(url)))[url]
    refused = client.post(
        url,
        data=fill(
            form,
            date=MIDSOMMARAFTON.isoformat(),
            starts="07:00",
            ends="06:30",
            mode="video",
            invitee_ids=[region.id, municipality.id],
        ),
    )
    assert refused.status_code == 400
    html = text_of(refused)
    assert END_BEFORE_START in _error_of(html, "ends")
    assert DAY_OFF in _error_of(html, "date")
    invitees = html[html.index('id="invitee_ids"') :]
    assert NOT_COVERED in invitees[: invitees.index("</fieldset>")]
    assert "Boka ändå" in html and 'name="confirm_day"' in html
    assert not db_session.exec(select(Meeting)).all()

    # Everything fixed and the day confirmed: one further send books the meeting.
    again = forms_of(html)[url]
    booked = client.post(url, data=fill(again, ends="08:00", invitee_ids=[region.id], confirm_day="y"))
    assert booked.status_code == 303, text_of(booked)
    db_session.expire_all()
    meeting = db_session.exec(select(Meeting).where(Meeting.case_id == case.id)).one()
    assert db_session.exec(select(Invitation.participant_id)).all() == [region.id]
    assert meeting.ends_at > meeting.starts_at
