"""The words of the meeting pages in English and Swedish: the glossary's terms, no calendar jargon, and
WTForms' own messages worded as the rest (a full stop)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from webkit import fill, forms_of, login, text_of

from sipflow.clock import now_utc
from sipflow.db import unit_of_work
from sipflow.meetings import services


@pytest.fixture
def as_region(client, parties):
    login(client, parties.region_user.username)
    return client


def page(client, path: str, lang: str) -> str:
    response = client.get(f"{path}?lang={lang}")
    assert response.status_code == 200
    return text_of(response)


@pytest.mark.parametrize(
    ("lang", "button"),
    [("en", "Book the meeting and send the notice of meeting"), ("sv", "Boka möte och skicka kallelse")],
)
def test_the_booking_button_and_page_name_the_kallelse_as_the_glossary_does(as_region, ready, lang, button):
    # English says "notice of meeting" for kallelse, as the workflow files' labels and every other English
    # text do (docs/architecture.md, Glossary).
    case_page = page(as_region, f"/cases/{ready.case.uid}", lang)
    booking = page(as_region, f"/cases/{ready.case.uid}/meetings/new", lang)
    assert button in case_page
    assert re.search(rf"<h1>\s*{button}\s*</h1>", booking)
    assert "send kallelse" not in case_page + booking


@pytest.mark.parametrize(
    ("lang", "label"),
    [
        ("en", "<dt>Last update sent to the invitees</dt>"),
        ("sv", "<dt>Senaste uppdateringen till de inbjudna</dt>"),
    ],
)
def test_the_meeting_page_says_when_the_invitees_were_last_sent_an_update_from_the_first_update(
    as_region, db_session, ready, book, lang, label
):
    # The SEQUENCE is the invitations' internal counter: never shown, as a number or a count of changes.
    meeting = book()
    url = f"/cases/{ready.case.uid}/meetings/{meeting.id}"
    html = page(as_region, url, lang)
    assert "SEQUENCE" not in html and "Version sent" not in html and "Skickad version" not in html
    assert label not in html
    for hours in (2, 3):
        moved = services.Booking(
            meeting.starts_at + timedelta(hours=hours),
            meeting.ends_at + timedelta(hours=hours),
            "video",
            None,
            None,
        )
        with unit_of_work(db_session):
            services.change_meeting(db_session, ready.case, meeting, moved, now=now_utc())
        html = page(as_region, url, lang)
        assert label in html
        assert "<dt>Updated</dt>" not in html and "<dt>Ändrad</dt>" not in html


@pytest.mark.parametrize(
    ("lang", "heading", "absent"),
    [
        ("en", "Relatives: their own support needs", "närstående"),
        ("sv", "Närstående: eget stödbehov", "Relatives"),
    ],
)
def test_the_outcome_page_asks_about_the_relatives_own_support_in_the_pages_language(
    client, ready, book, frozen_clock, parties, lang, heading, absent
):
    meeting = book()
    frozen_clock.set(meeting.starts_at + timedelta(hours=1))
    login(client, parties.region_user.username)
    html = page(client, f"/cases/{ready.case.uid}/meetings/outcome", lang)
    legend = re.search(
        r'id="carer_support"[^>]*>\s*<legend>([^<]*)</legend>\s*<p class="help"[^>]*>(.*?)</p>', html
    )
    assert legend.group(1) == heading
    assert absent not in legend.group(0)


@pytest.mark.parametrize(
    ("lang", "message"),
    [("sv", "Inte ett giltigt datum och klockslag."), ("en", "Not a valid datetime value.")],
)
def test_a_date_and_time_that_is_none_is_refused_in_a_whole_sentence(
    client, ready, book, frozen_clock, parties, lang, message
):
    meeting = book()
    frozen_clock.set(meeting.starts_at + timedelta(hours=1))
    login(client, parties.region_user.username)
    url = f"/cases/{ready.case.uid}/meetings/outcome"
    form = forms_of(page(client, url, lang))[url]
    response = client.post(f"{url}?lang={lang}", data=fill(form, held_at="igår"))
    assert response.status_code == 400
    error = re.search(r'id="held_at-error">\s*<li>([^<]*)</li>', text_of(response))
    assert error.group(1) == message


@pytest.mark.parametrize(
    ("lang", "message"), [("sv", "Inte ett giltigt klockslag."), ("en", "Not a valid time value.")]
)
def test_a_time_that_is_none_is_refused_in_the_same_words(as_region, ready, lang, message):
    url = f"/cases/{ready.case.uid}/meetings/new"
    form = forms_of(page(as_region, url, lang))[url]
    response = as_region.post(f"{url}?lang={lang}", data=fill(form, starts="kl. tio"))
    assert response.status_code == 400
    error = re.search(r'id="starts-error">\s*<li>([^<]*)</li>', text_of(response))
    assert error.group(1) == message
