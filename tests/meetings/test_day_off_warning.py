"""A meeting on a weekend day or a Swedish holiday is booked or moved only once the user confirms the day."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

import pytest
from meetingkit import everyone, fire, next_week_at
from sqlmodel import select
from webkit import beside_fields, fill, forms_of, login, text_of

from sipflow.cases.days_off import DayOffUnconfirmed
from sipflow.clock import local_to_utc, now_utc, to_local
from sipflow.db import unit_of_work
from sipflow.meetings import services
from sipflow.meetings.models import Meeting

# The frozen clock is Monday 2 November 2026: a week on is Monday the 9th, the 8th a Sunday.
SUNDAY, SATURDAY, CHRISTMAS, MONDAY = (
    date(2026, 11, 8),
    date(2026, 11, 14),
    date(2026, 12, 25),
    date(2026, 11, 9),
)


@pytest.fixture
def as_region(client, parties):
    login(client, parties.region_user.username)
    return client


def _booking_url(case) -> str:
    return f"/cases/{case.uid}/meetings/new"


def _post_booking(client, case, form=None, **values):
    url = _booking_url(case)
    form = form if form is not None else forms_of(text_of(client.get(url)))[url]
    return client.post(url, data=fill(form, **values))


def test_the_kallelse_on_a_sunday_is_refused_until_the_day_is_confirmed(
    db_session, registry, parties, ready, book
):
    starts_at = local_to_utc(datetime.combine(SUNDAY, datetime.min.time()).replace(hour=10))
    with pytest.raises(DayOffUnconfirmed) as refused:
        book(meeting_starts_at=starts_at, meeting_ends_at=None)
    assert refused.value.field == "meeting_day" and refused.value.day == SUNDAY
    assert not db_session.exec(select(Meeting)).all()
    # A confirmation of another day confirms nothing; of this one, it books the meeting on the Sunday.
    with pytest.raises(DayOffUnconfirmed):
        book(meeting_starts_at=starts_at, meeting_ends_at=None, confirmed_day=MONDAY)
    meeting = book(meeting_starts_at=starts_at, meeting_ends_at=None, confirmed_day=SUNDAY)
    assert to_local(meeting.starts_at).date() == SUNDAY


def test_a_working_day_needs_no_confirmation(book):
    assert to_local(book(meeting_starts_at=next_week_at(10), meeting_ends_at=None).starts_at).date() == MONDAY


def test_the_booking_page_warns_of_a_sunday_beside_the_date_and_keeps_what_was_typed(
    as_region, db_session, ready
):
    typed = {
        "date": SUNDAY.isoformat(),
        "starts": "10:00",
        "ends": "11:00",
        "mode": "on_site",
        "location": "Storgatan 1, Växjö",
        "room": "Rum 12",
    }
    warned = _post_booking(as_region, ready.case, **typed)
    assert warned.status_code == 400
    html = text_of(warned)
    assert 'id="date-error"' in html and "Mötet är på en söndag." in html
    assert "Boka ändå" in html and 'name="confirm_day"' in html
    assert 'value="Storgatan 1, Växjö"' in html and 'value="Rum 12"' in html
    assert not db_session.exec(select(Meeting)).all()

    form = forms_of(html)[_booking_url(ready.case)]
    booked = _post_booking(as_region, ready.case, form, confirm_day="y")
    assert booked.status_code == 303, text_of(booked)
    meeting = db_session.exec(select(Meeting).where(Meeting.case_id == ready.case.id)).one()
    assert to_local(meeting.starts_at).date() == SUNDAY and meeting.location == "Storgatan 1, Växjö"


def test_a_tick_for_one_day_does_not_confirm_another_picked_after_the_warning(as_region, db_session, ready):
    warned = _post_booking(
        as_region, ready.case, date=SUNDAY.isoformat(), starts="10:00", ends="11:00", mode="video"
    )
    form = forms_of(text_of(warned))[_booking_url(ready.case)]
    again = _post_booking(as_region, ready.case, form, confirm_day="y", date=SATURDAY.isoformat())
    assert again.status_code == 400
    assert "Mötet är på en lördag." in text_of(again)
    assert not db_session.exec(select(Meeting)).all()


@pytest.mark.parametrize(
    ("day", "message"),
    [
        (CHRISTMAS, "Mötet är på juldagen, en helgdag."),
        (date(2026, 12, 24), "Mötet är på julafton, en dag då de flesta är lediga."),
        (date(2027, 5, 6), "Mötet är på Kristi himmelsfärdsdag, en helgdag."),
    ],
)
def test_the_warning_names_the_holiday(as_region, db_session, ready, day, message):
    warned = _post_booking(
        as_region, ready.case, date=day.isoformat(), starts="10:00", ends="11:00", mode="video"
    )
    assert warned.status_code == 400
    assert message in text_of(warned)
    assert not db_session.exec(select(Meeting)).all()


def test_the_warning_is_in_english_for_an_english_page(as_region, ready):
    as_region.get("/?lang=en")
    html = text_of(
        _post_booking(
            as_region, ready.case, date=CHRISTMAS.isoformat(), starts="10:00", ends="11:00", mode="video"
        )
    )
    assert "The meeting is on Christmas Day, a public holiday." in html and "Book anyway" in html


def test_moving_a_meeting_to_christmas_day_asks_for_confirmation(as_region, db_session, ready, book):
    meeting = book(meeting_starts_at=next_week_at(10), meeting_ends_at=None)
    url = f"/cases/{ready.case.uid}/meetings/{meeting.id}"
    form = forms_of(text_of(as_region.get(url)))[f"{url}/change"]
    warned = as_region.post(f"{url}/change", data=fill(form, **{"change-date": CHRISTMAS.isoformat()}))
    assert warned.status_code == 400
    html = text_of(warned)
    assert 'id="change-date-error"' in html and "Mötet är på juldagen, en helgdag." in html
    db_session.expire_all()
    assert db_session.get(Meeting, meeting.id).sequence == 0

    confirmed = as_region.post(
        f"{url}/change", data=fill(forms_of(html)[f"{url}/change"], **{"change-confirm_day": "y"})
    )
    assert confirmed.status_code == 303, text_of(confirmed)
    db_session.expire_all()
    assert to_local(db_session.get(Meeting, meeting.id).starts_at).date() == CHRISTMAS


def test_a_change_that_keeps_a_confirmed_sunday_asks_nothing_again(db_session, ready, book):
    starts_at = local_to_utc(datetime.combine(SUNDAY, datetime.min.time()).replace(hour=10))
    meeting = book(meeting_starts_at=starts_at, meeting_ends_at=None, confirmed_day=SUNDAY)
    later = services.Booking(
        starts_at + timedelta(hours=2), starts_at + timedelta(hours=3), "video", None, None
    )
    with unit_of_work(db_session):
        assert services.change_meeting(db_session, ready.case, meeting, later, now=now_utc())


def test_scripted_and_api_callers_pass_the_confirmation(db_session, registry, parties, ready):
    starts_at = local_to_utc(datetime.combine(SUNDAY, datetime.min.time()).replace(hour=10))
    log = fire(
        db_session,
        registry,
        parties.region_user,
        ready.case,
        "send_kallelse",
        send_invitations=True,
        meeting_starts_at=starts_at,
        meeting_minutes=60,
        mode="video",
        invitee_ids=everyone(ready),
        confirmed_day=SUNDAY,
    )
    assert log.details["meeting_id"]


def _described_but_missing(html: str) -> list[str]:
    """The ids aria-describedby names that no element of the page has."""
    ids = set(re.findall(r'\bid="([^"]+)"', html))
    named = [name for value in re.findall(r'aria-describedby="([^"]+)"', html) for name in value.split()]
    return [name for name in named if name not in ids]


def _tick_input(html: str, name: str) -> str:
    return re.search(rf'<input[^>]*name="{name}"[^>]*>', html).group(0)


def test_a_tick_kept_through_another_error_comes_back_with_its_warning(as_region, db_session, ready):
    # The user ticks "Boka ändå" and then types an end before the start: the tick alone would not say
    # what it confirms, and a screen reader would be sent to a warning no longer on the page.
    warned = _post_booking(
        as_region, ready.case, date=SUNDAY.isoformat(), starts="10:00", ends="11:00", mode="video"
    )
    form = forms_of(text_of(warned))[_booking_url(ready.case)]
    refused = _post_booking(as_region, ready.case, form, confirm_day="y", ends="09:00")
    assert refused.status_code == 400
    html = text_of(refused)
    assert "Mötet måste sluta efter att det börjat." in html
    assert 'id="date-error"' not in html
    assert "Mötet är på en söndag." in html and "Boka ändå" in html
    tick = _tick_input(html, "confirm_day")
    assert "checked" in tick and 'aria-describedby="confirm_day-help"' in tick
    assert _described_but_missing(html) == []
    # Still ticked and the end put right, the Sunday is booked.
    booked = _post_booking(as_region, ready.case, forms_of(html)[_booking_url(ready.case)], ends="11:00")
    assert booked.status_code == 303, text_of(booked)
    assert to_local(db_session.exec(select(Meeting)).one().starts_at).date() == SUNDAY


def test_the_first_warning_is_what_the_tick_is_described_by(as_region, ready):
    warned = text_of(
        _post_booking(
            as_region, ready.case, date=SUNDAY.isoformat(), starts="10:00", ends="11:00", mode="video"
        )
    )
    assert 'aria-describedby="date-error"' in _tick_input(warned, "confirm_day")
    assert beside_fields(warned).count("Mötet är på en söndag.") == 1
    assert _described_but_missing(warned) == []


def test_moving_with_a_tick_kept_through_another_error_shows_its_warning(as_region, ready, book):
    meeting = book(meeting_starts_at=next_week_at(10), meeting_ends_at=None)
    url = f"/cases/{ready.case.uid}/meetings/{meeting.id}"
    form = forms_of(text_of(as_region.get(url)))[f"{url}/change"]
    warned = as_region.post(f"{url}/change", data=fill(form, **{"change-date": CHRISTMAS.isoformat()}))
    typed = {"change-confirm_day": "y", "change-ends": "09:00"}
    refused = as_region.post(f"{url}/change", data=fill(forms_of(text_of(warned))[f"{url}/change"], **typed))
    assert refused.status_code == 400
    html = text_of(refused)
    assert "Mötet är på juldagen, en helgdag." in html
    assert 'aria-describedby="change-confirm_day-help"' in _tick_input(html, "change-confirm_day")
    assert _described_but_missing(html) == []


def test_the_change_forms_times_say_they_are_swedish_time_as_the_booking_forms_do(as_region, ready, book):
    # A staff member abroad, or reading an invitee's time from another zone, moves the meeting by these.
    meeting = book(meeting_starts_at=next_week_at(10), meeting_ends_at=None)
    html = text_of(as_region.get(f"/cases/{ready.case.uid}/meetings/{meeting.id}"))
    help_text = re.search(r'<p class="help" id="change-when-help">([^<]*)</p>', html)
    assert help_text is not None and help_text.group(1) == "Svensk tid (Europe/Stockholm)."
    for name in ("change-date", "change-starts", "change-ends"):
        field = re.search(rf'<input[^>]*id="{name}"[^>]*>', html).group(0)
        assert "change-when-help" in re.search(r'aria-describedby="([^"]*)"', field).group(1), field
