"""The meeting outcome refuses every field at fault at once: a wrong "Held at" no longer hides a decision's
missing "Who carries it out"."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select
from webkit import fill, forms_of, login, text_of

from sipflow.clock import to_local
from sipflow.meetings.models import MeetingDecision

OTHER_DAY = "Mötet var bokat till"
NO_OWNER = "Välj vem som gör det."
NOT_A_DATE = "Inte ett giltigt datum."
REQUIRED = "Fältet måste fyllas i."
NO_DUE = "Ange senast när."


@pytest.fixture
def held(frozen_clock, book, client, parties):
    """A booked meeting, the clock a day after it started, the region's user logged in."""
    meeting = book()
    frozen_clock.set(meeting.starts_at + timedelta(days=1))
    assert login(client, parties.region_user.username).status_code == 302
    return meeting


def _error_of(html: str, field_id: str) -> str:
    """The text of the error shown beside the field field_id."""
    start = html.index(f'id="{field_id}-error"')
    return html[start : html.index("</", start)]


def test_a_wrong_held_at_and_a_decision_without_owner_are_refused_together(client, db_session, ready, held):
    url = f"/cases/{ready.case.uid}/meetings/outcome"
    form = forms_of(text_of(client.get(url)))[url]
    # Held the day after it was booked for, without "The meeting was moved"; a decision with no owner.
    next_day = to_local(held.starts_at + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    due = (to_local(held.starts_at).date() + timedelta(days=30)).isoformat()
    response = client.post(
        url,
        data=fill(
            form,
            held_at=next_day,
            **{"decisions-0-text": "Hemtjänst utreds", "decisions-0-owner": "", "decisions-0-due_on": due},
        ),
    )
    assert response.status_code == 400
    html = text_of(response)
    assert OTHER_DAY in _error_of(html, "held_at")
    assert NO_OWNER in _error_of(html, "decisions-0-owner")
    assert not db_session.exec(select(MeetingDecision)).all()


def test_the_forms_own_refusal_and_the_services_come_in_one_send_with_what_was_typed(
    client, db_session, parties, ready, held
):
    url = f"/cases/{ready.case.uid}/meetings/outcome"
    form = forms_of(text_of(client.get(url)))[url]
    next_day = to_local(held.starts_at + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(
        url,
        data=fill(
            form,
            held_at=next_day,
            **{
                # The form's own refusal: a date that is none.
                "decisions-0-text": "Hemtjänst utreds",
                "decisions-0-owner": f"organisation:{parties.municipality.organisation_id}",
                "decisions-0-due_on": "2027-13-45",
                # The service's: a decision with no owner, and a day other than the booked one.
                "decisions-1-text": "Kontakt med skolan",
                "decisions-1-owner": "",
                "decisions-1-due_on": "2027-02-01",
            },
        ),
    )
    assert response.status_code == 400
    html = text_of(response)
    assert NOT_A_DATE in _error_of(html, "decisions-0-due_on")
    assert OTHER_DAY in _error_of(html, "held_at")
    assert NO_OWNER in _error_of(html, "decisions-1-owner")
    # The date the form refused has its own error alone (the service read it as missing), and nothing
    # typed is lost.
    assert "Ange senast när." not in _error_of(html, "decisions-0-due_on")
    assert "Hemtjänst utreds" in html and "Kontakt med skolan" in html and "2027-13-45" in html
    assert not db_session.exec(select(MeetingDecision)).all()


def test_an_empty_held_at_and_a_row_without_owner_or_due_date_are_refused_together(
    client, db_session, ready, held
):
    # The form's own refusal (nothing in "Held at") does not hide the service's at the decision row.
    url = f"/cases/{ready.case.uid}/meetings/outcome"
    form = forms_of(text_of(client.get(url)))[url]
    response = client.post(
        url,
        data=fill(
            form,
            held_at="",
            **{"decisions-0-text": "Hemtjänst utreds", "decisions-0-owner": "", "decisions-0-due_on": ""},
        ),
    )
    assert response.status_code == 400
    html = text_of(response)
    assert REQUIRED in _error_of(html, "held_at")
    assert NO_OWNER in _error_of(html, "decisions-0-owner")
    assert NO_DUE in _error_of(html, "decisions-0-due_on")
    assert "Hemtjänst utreds" in html
    assert not db_session.exec(select(MeetingDecision)).all()


@pytest.mark.parametrize(
    ("held_at", "said"),
    [
        # 25 October 2026: 02:30 is shown twice, first in summer time, then in standard time.
        ("2026-10-25T02:30", "02:30 finns två gånger den natten"),
        # 28 March 2027: the clocks go from 02:00 to 03:00, so 02:30 never shows.
        ("2027-03-28T02:30", "Den tiden finns inte"),
    ],
    ids=["repeated", "skipped"],
)
def test_a_held_at_the_daylight_saving_night_does_not_name_is_refused_at_its_field(
    client, db_session, ready, held, held_at, said
):
    """As every other date and time typed: the time read as one moment of two, or one an hour away from
    what was typed, would move the meeting (and its codes' day) without a word."""
    url = f"/cases/{ready.case.uid}/meetings/outcome"
    form = forms_of(text_of(client.get(url)))[url]
    response = client.post(url, data=fill(form, held_at=held_at, moved="y"))
    assert response.status_code == 400
    assert said in _error_of(text_of(response), "held_at")
