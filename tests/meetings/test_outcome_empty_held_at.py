"""The meeting outcome with "Held at" left empty still shows a decision row's missing owner and due date in
the same send: the form's own refusal does not hide the service's."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select
from webkit import fill, forms_of, login, text_of

from sipflow.meetings.models import MeetingDecision

REQUIRED = "Fältet måste fyllas i."
NO_OWNER = "Välj vem som gör det."
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


def test_an_empty_held_at_and_a_row_without_owner_or_due_date_are_refused_together(
    client, db_session, ready, held
):
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
