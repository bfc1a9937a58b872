"""A meeting cancelled by a colleague while another has its page open: what the second one typed into the
change form or an invitee's answer form is shown back with the reason, since the page offers neither now."""

from __future__ import annotations

import re

import pytest
from meetingkit import invitation_of
from webkit import fill, forms_of, login, text_of

from sipflow.clock import now_utc
from sipflow.db import unit_of_work
from sipflow.meetings import services
from sipflow.meetings.models import Meeting

pytestmark = pytest.mark.db

CLOSED = "Mötet har ställts in; det går inte längre att ändra."
COMMENT = "Ringde mamman, hon kommer men vill ha tolk"


@pytest.fixture
def as_region(client, parties):
    login(client, parties.region_user.username)
    return client


def _cancel(db_session, case, meeting) -> None:
    db_session.refresh(meeting)
    with unit_of_work(db_session):
        services.cancel_meeting(db_session, case, meeting, now=now_utc(), expected_sequence=meeting.sequence)


def _kept_card(html: str) -> str:
    found = re.search(r'<section class="card" aria-labelledby="h-kept-input">.*?</section>', html, re.S)
    assert found, "no card of what was entered"
    return found.group(0)


def test_a_change_to_a_meeting_cancelled_meanwhile_is_shown_back(as_region, db_session, ready, book):
    meeting = book()
    url = f"/cases/{ready.case.uid}/meetings/{meeting.id}"
    form = forms_of(text_of(as_region.get(url)))[f"{url}/change"]
    _cancel(db_session, ready.case, meeting)
    refused = as_region.post(
        f"{url}/change", data=fill(form, **{"change-location": "Eriks plats 1", "change-room": "Eriks rum"})
    )
    assert refused.status_code == 409
    html = text_of(refused)
    assert CLOSED in html
    card = _kept_card(html)
    assert "Det du fyllde i" in card and "Flytta eller ändra mötet" in card
    assert "Eriks plats 1" in card and "Eriks rum" in card
    db_session.expire_all()
    kept = db_session.get(Meeting, meeting.id)
    assert kept.location != "Eriks plats 1" and kept.room != "Eriks rum"


def test_an_answer_recorded_for_a_meeting_cancelled_meanwhile_is_shown_back(
    as_region, db_session, ready, book
):
    meeting = book()
    silent = invitation_of(db_session, meeting, ready.relative_without_email)
    url = f"/cases/{ready.case.uid}/meetings/{meeting.id}"
    action = f"{url}/invitations/{silent.id}/answer"
    form = forms_of(text_of(as_region.get(url)))[action]
    _cancel(db_session, ready.case, meeting)
    prefix = f"answer-{silent.id}-"
    refused = as_region.post(
        action, data=fill(form, **{prefix + "partstat": "ACCEPTED", prefix + "comment": COMMENT})
    )
    assert refused.status_code == 409
    html = text_of(refused)
    assert CLOSED in html
    card = _kept_card(html)
    assert "Svaret från Olle Andersson" in card and COMMENT in card and "Accepterat" in card
    assert invitation_of(db_session, meeting, ready.relative_without_email).partstat == "NEEDS-ACTION"
