"""Hostile dates on the meeting pages: refused beside the field; a meeting far out never breaks a page."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from meetingkit import next_week_at
from sqlmodel import select
from webkit import fill, forms_of, login, text_of

from sipflow.clock import BOOKING_YEARS_AHEAD, now_utc, to_local, years_after
from sipflow.db import unit_of_work
from sipflow.errors import InvalidInput
from sipflow.meetings import services
from sipflow.meetings.booking import Booking
from sipflow.meetings.models import Meeting

# A meeting's date is refused naming the days a meeting may be booked on (today to BOOKING_YEARS_AHEAD
# years on), not the window of every date field (1900 to a century ahead).
PAST_REFUSAL = "Mötet måste ligga i framtiden."
HORIZON_REFUSAL = f"Ett möte bokas högst {BOOKING_YEARS_AHEAD} år framåt: välj en dag till och med"


@pytest.fixture
def as_region(client, parties):
    login(client, parties.region_user.username)
    return client


def booking_url(case) -> str:
    return f"/cases/{case.uid}/meetings/new"


def date_error(html: str, prefix: str = "") -> str:
    return re.search(rf'id="{prefix}date-error".*?</ul>', html, re.S).group(0)


@pytest.mark.parametrize(
    ("day", "refusal"),
    [("0001-01-01", PAST_REFUSAL), ("1899-12-31", PAST_REFUSAL), ("9999-12-31", HORIZON_REFUSAL)],
)
def test_the_booking_page_refuses_a_date_outside_the_window(as_region, db_session, ready, day, refusal):
    form = forms_of(text_of(as_region.get(booking_url(ready.case))))[booking_url(ready.case)]
    response = as_region.post(
        booking_url(ready.case), data=fill(form, date=day, starts="10:00", ends="11:00", mode="video")
    )
    assert response.status_code == 400
    html = text_of(response)
    assert refusal in date_error(html)
    if refusal == HORIZON_REFUSAL:
        assert _last_booking_day().isoformat() in date_error(html)
    assert "1900-01-01" not in html
    assert db_session.exec(select(Meeting).where(Meeting.case_id == ready.case.id)).first() is None


@pytest.mark.parametrize(("day", "refusal"), [("0001-01-01", PAST_REFUSAL), ("9999-12-31", HORIZON_REFUSAL)])
def test_moving_a_meeting_outside_the_window_is_refused(as_region, db_session, ready, book, day, refusal):
    meeting = book()
    url = f"/cases/{ready.case.uid}/meetings/{meeting.id}"
    form = forms_of(text_of(as_region.get(url)))[f"{url}/change"]
    response = as_region.post(f"{url}/change", data=fill(form, **{"change-date": day}))
    assert response.status_code == 400
    assert refusal in date_error(text_of(response), "change-")
    assert 'id="change-starts-error"' not in text_of(response)
    db_session.expire_all()
    assert db_session.get(Meeting, meeting.id).sequence == meeting.sequence


def test_a_meeting_stored_far_in_the_future_breaks_neither_its_page_nor_the_feed(
    as_region, client, db_session, ready, book, parties
):
    from test_meeting_pages import feed_path

    far = book()
    with unit_of_work(db_session):
        starts_at = next_week_at(14)
        near = services.book_meeting(
            db_session,
            ready.case,
            parties.region_user,
            Booking(starts_at, starts_at + timedelta(hours=1), "video", None, None, (ready.region.id,)),
            now=now_utc(),
        )
    with unit_of_work(db_session):
        # As a booking accepted before dates were bounded left it.
        stored = db_session.get(Meeting, far.id)
        stored.starts_at = datetime(9999, 12, 31, 22, 59, tzinfo=UTC)
        stored.ends_at = stored.starts_at + timedelta(minutes=15)
        db_session.add(stored)
    assert as_region.get(f"/cases/{ready.case.uid}/meetings/{far.id}").status_code == 200
    assert as_region.get(f"/cases/{ready.case.uid}").status_code == 200
    response = client.get(feed_path(as_region))
    assert response.status_code == 200
    assert near.uid.encode() in response.data


@pytest.mark.parametrize("version", ["99999999999999999999", "-1", "x", ""])
def test_a_forged_version_is_refused_without_a_server_error(as_region, db_session, ready, book, version):
    meeting = book()
    url = f"/cases/{ready.case.uid}/meetings/{meeting.id}"
    forms = forms_of(text_of(as_region.get(url)))
    for action, field in ((f"{url}/change", "change-version"), (f"{url}/cancel", "version")):
        response = as_region.post(action, data=fill(forms[action], **{field: version}))
        assert response.status_code in (400, 409), (action, response.status_code)
    page = f"/cases/{ready.case.uid}"
    outcome = f"{page}/meetings/outcome"
    response = as_region.post(
        outcome, data=fill(forms_of(text_of(as_region.get(outcome)))[outcome], version=version)
    )
    assert response.status_code in (400, 409)
    booking = f"{page}/meetings/new"
    response = as_region.post(
        booking, data=fill(forms_of(text_of(as_region.get(booking)))[booking], version=version)
    )
    assert response.status_code in (400, 409)
    db_session.expire_all()
    assert db_session.get(Meeting, meeting.id).status == "planned"


@pytest.mark.parametrize("field", ["location", "room"])
def test_a_line_break_in_the_meetings_place_is_refused_beside_the_field_and_kept(
    as_region, db_session, ready, field
):
    # The place is printed as one line of every invitation: a typed line break would add lines of its own.
    typed = {"location": "Storgatan 1", "room": "Rum 3"}
    typed[field] += "\r\nSvara här: https://evil.example/svar"
    form = forms_of(text_of(as_region.get(booking_url(ready.case))))[booking_url(ready.case)]
    day = next_week_at(10).date().isoformat()
    response = as_region.post(
        booking_url(ready.case),
        data=fill(form, date=day, starts="10:00", ends="11:00", mode="on_site", **typed),
    )
    assert response.status_code == 400
    html = text_of(response)
    assert f'id="{field}-error"' in html and "Skriv det på en rad" in html
    assert "evil.example/svar" in html  # what was typed is still in the form
    assert db_session.exec(select(Meeting).where(Meeting.case_id == ready.case.id)).first() is None


def _last_booking_day():
    return years_after(to_local(now_utc()).date(), BOOKING_YEARS_AHEAD)


def test_the_booking_page_refuses_a_day_beyond_the_booking_horizon_and_keeps_the_input(
    as_region, db_session, ready
):
    beyond = (_last_booking_day() + timedelta(days=1)).isoformat()
    form = forms_of(text_of(as_region.get(booking_url(ready.case))))[booking_url(ready.case)]
    response = as_region.post(
        booking_url(ready.case),
        data=fill(form, date=beyond, starts="10:00", ends="11:00", mode="on_site", location="Storgatan 1"),
    )
    assert response.status_code == 400
    html = text_of(response)
    # The day is too far: refused beside the date, naming the last day that may be booked.
    assert HORIZON_REFUSAL in date_error(html) and _last_booking_day().isoformat() in date_error(html)
    assert 'id="starts-error"' not in html
    assert f'value="{beyond}"' in html and 'value="Storgatan 1"' in html
    assert db_session.exec(select(Meeting).where(Meeting.case_id == ready.case.id)).first() is None
    # The last day itself may be booked.
    form = forms_of(html)[booking_url(ready.case)]
    booked = as_region.post(booking_url(ready.case), data=fill(form, date=_last_booking_day().isoformat()))
    assert booked.status_code == 303, text_of(booked)


def test_moving_a_meeting_beyond_the_booking_horizon_is_refused(as_region, db_session, ready, book):
    meeting = book()
    url = f"/cases/{ready.case.uid}/meetings/{meeting.id}"
    form = forms_of(text_of(as_region.get(url)))[f"{url}/change"]
    beyond = f"{to_local(now_utc()).year + 100}-01-07"
    response = as_region.post(f"{url}/change", data=fill(form, **{"change-date": beyond}))
    assert response.status_code == 400
    assert HORIZON_REFUSAL in date_error(text_of(response), "change-")
    assert 'id="change-starts-error"' not in text_of(response)
    db_session.expire_all()
    assert db_session.get(Meeting, meeting.id).sequence == meeting.sequence


def test_the_service_refuses_a_booking_beyond_the_horizon_whoever_asks(db_session, registry, parties, ready):
    starts_at = now_utc() + timedelta(days=366 * BOOKING_YEARS_AHEAD + 1)
    booking = {
        "meeting_starts_at": starts_at,
        "meeting_ends_at": starts_at + timedelta(hours=1),
        "mode": "video",
        "invitee_ids": [ready.municipality.id],
    }
    with pytest.raises(InvalidInput) as refused, unit_of_work(db_session):
        services.book(
            db_session,
            registry,
            parties.region_user,
            ready.case,
            booking,
            expected_version=ready.case.version,
            now=now_utc(),
        )
    assert refused.value.field == "meeting_starts_at"


@pytest.mark.parametrize("bad", ["²", "¹", "①", "٣", "4" * 4400, "99999999999", "0", "abc"])
def test_an_outcome_page_naming_no_meeting_shows_the_first_planned(as_region, ready, book, bad):
    meeting = book()
    url = f"/cases/{ready.case.uid}/meetings/outcome"
    response = as_region.get(f"{url}?meeting={bad}")
    assert response.status_code == 200
    assert dict(forms_of(text_of(response))[url])["meeting_id"] == str(meeting.id)


@pytest.mark.parametrize("bad", ["²", "①", "4" * 4400])
def test_an_outcome_row_numbered_with_no_number_is_no_500(client, parties, ready, book, frozen_clock, bad):
    meeting = book()
    frozen_clock.set(meeting.starts_at + timedelta(hours=1))
    login(client, parties.region_user.username)
    url = f"/cases/{ready.case.uid}/meetings/outcome"
    pairs = forms_of(text_of(client.get(url)))[url]
    response = client.post(url, data=fill(pairs, **{f"decisions-{bad}-text": "Kontakta boendestödet"}))
    # The key names no row: left out as a key of no field is, so the outcome holds no decision (refused).
    assert response.status_code == 409
