"""A meeting booked, or moved, onto the time of another planned meeting of the SIP (its start, or any overlap)
is warned about beside the start and taken only once the user ticks “Boka ändå”: Back and send again books
no second meeting and sends no second kallelse."""

from __future__ import annotations

from datetime import timedelta

import pytest
from meetingkit import everyone, next_week_at
from sqlmodel import func, select
from webkit import fill, forms_of, login, text_of

from sipflow.clock import now_utc, to_local
from sipflow.db import unit_of_work
from sipflow.meetings import services
from sipflow.meetings.booking import SameStartUnconfirmed
from sipflow.meetings.models import Meeting
from sipflow.notifications.models import OutboxMessage

WARNING = "Ett annat planerat möte i den här SIP:en är bokat på en tid som krockar med det här"
TYPED = {
    "starts": "10:00",
    "ends": "11:00",
    "mode": "on_site",
    "location": "Storgatan 1, Växjö",
    "room": "Rum 12",
}


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


def _meetings(db_session, case) -> list[Meeting]:
    db_session.expire_all()
    return db_session.exec(select(Meeting).where(Meeting.case_id == case.id).order_by(Meeting.id)).all()


def _mails(db_session) -> int:
    return db_session.exec(select(func.count()).select_from(OutboxMessage)).one()


@pytest.fixture
def booked(book):
    """The kallelse's meeting, a week ahead at 10:00 (Monday 9 November 2026)."""
    return book(meeting_starts_at=next_week_at(10), meeting_ends_at=None, mode="video")


def _typed(booked_meeting):
    return {**TYPED, "date": to_local(booked_meeting.starts_at).date().isoformat()}


def test_a_second_booking_at_the_same_start_is_warned_about_and_sends_nothing(
    as_region, db_session, ready, booked
):
    mails = _mails(db_session)
    warned = _post_booking(as_region, ready.case, **_typed(booked))
    assert warned.status_code == 400
    html = text_of(warned)
    assert 'id="starts-error"' in html and WARNING in html
    assert 'name="confirm_start"' in html and "Boka ändå" in html
    assert 'value="Storgatan 1, Växjö"' in html and 'value="Rum 12"' in html
    assert [m.id for m in _meetings(db_session, ready.case)] == [booked.id]
    assert _mails(db_session) == mails

    # Ticked, the same start is booked: a second meeting then is what the user wants.
    form = forms_of(html)[_booking_url(ready.case)]
    confirmed = _post_booking(as_region, ready.case, form, confirm_start="y")
    assert confirmed.status_code == 303, text_of(confirmed)
    assert len(_meetings(db_session, ready.case)) == 2


def test_back_and_send_again_books_one_meeting(as_region, db_session, ready, booked):
    url = _booking_url(ready.case)
    form = forms_of(text_of(as_region.get(url)))[url]
    later = {**_typed(booked), "starts": "13:00", "ends": "14:00"}
    assert _post_booking(as_region, ready.case, form, **later).status_code == 303
    mails = _mails(db_session)
    again = _post_booking(as_region, ready.case, form, **later)
    assert again.status_code in (400, 409)
    fresh = _post_booking(as_region, ready.case, **later)
    assert fresh.status_code == 400 and WARNING in text_of(fresh)
    assert len(_meetings(db_session, ready.case)) == 2
    assert _mails(db_session) == mails


def test_every_other_refusal_comes_with_the_warning(as_region, db_session, ready, booked):
    warned = _post_booking(as_region, ready.case, **{**_typed(booked), "location": ""})
    assert warned.status_code == 400
    html = text_of(warned)
    assert 'id="starts-error"' in html and 'id="location-error"' in html
    # Ticked but the address still missing: the tick comes back with the warning beside it.
    form = forms_of(html)[_booking_url(ready.case)]
    again = _post_booking(as_region, ready.case, form, confirm_start="y")
    assert again.status_code == 400
    html = text_of(again)
    assert 'id="location-error"' in html and 'id="starts-error"' not in html
    assert WARNING in html and 'name="confirm_start"' in html
    assert len(_meetings(db_session, ready.case)) == 1


def test_a_cancelled_meeting_at_that_start_is_no_reason_to_warn(as_region, db_session, ready, booked):
    second = _post_booking(as_region, ready.case, **{**_typed(booked), "starts": "13:00", "ends": "14:00"})
    assert second.status_code == 303
    with unit_of_work(db_session):
        services.cancel_meeting(db_session, ready.case, booked, now=now_utc())
    assert _post_booking(as_region, ready.case, **_typed(booked)).status_code == 303


def test_the_service_refuses_the_same_start_until_it_is_confirmed(
    db_session, registry, parties, ready, booked
):
    data = {
        "meeting_starts_at": booked.starts_at,
        "meeting_ends_at": booked.starts_at + timedelta(hours=1),
        "mode": "video",
        "invitee_ids": everyone(ready),
    }

    def book_further(**extra):
        with unit_of_work(db_session):
            return services.book(
                db_session,
                registry,
                parties.region_user,
                ready.case,
                data | extra,
                expected_version=ready.case.version,
                now=now_utc(),
            )

    with pytest.raises(SameStartUnconfirmed) as refused:
        book_further()
    assert refused.value.field == "meeting_starts_at" and refused.value.starts_at == booked.starts_at
    with pytest.raises(SameStartUnconfirmed):
        book_further(confirmed_start=booked.starts_at + timedelta(hours=1))
    assert book_further(confirmed_start=booked.starts_at) != booked.id


def test_moving_a_meeting_onto_another_planned_meetings_start_asks_for_confirmation(
    as_region, db_session, ready, booked
):
    assert (
        _post_booking(
            as_region, ready.case, **{**_typed(booked), "starts": "13:00", "ends": "14:00"}
        ).status_code
        == 303
    )
    other = _meetings(db_session, ready.case)[-1]
    url = f"/cases/{ready.case.uid}/meetings/{other.id}"
    form = forms_of(text_of(as_region.get(url)))[f"{url}/change"]
    moved = {"change-starts": "10:00", "change-ends": "11:00"}
    warned = as_region.post(f"{url}/change", data=fill(form, **moved))
    assert warned.status_code == 400
    html = text_of(warned)
    assert 'id="change-starts-error"' in html and WARNING in html and 'name="change-confirm_start"' in html
    db_session.expire_all()
    assert db_session.get(Meeting, other.id).sequence == 0

    confirmed = as_region.post(
        f"{url}/change", data=fill(forms_of(html)[f"{url}/change"], **{"change-confirm_start": "y"})
    )
    assert confirmed.status_code == 303, text_of(confirmed)
    db_session.expire_all()
    assert db_session.get(Meeting, other.id).starts_at == db_session.get(Meeting, booked.id).starts_at


def test_changing_a_meeting_without_moving_it_asks_nothing(as_region, db_session, ready, booked):
    url = f"/cases/{ready.case.uid}/meetings/{booked.id}"
    form = forms_of(text_of(as_region.get(url)))[f"{url}/change"]
    changed = as_region.post(
        f"{url}/change",
        data=fill(form, **{"change-mode": "on_site", "change-location": "Storgatan 1, Växjö"}),
    )
    assert changed.status_code == 303, text_of(changed)


def test_a_booking_overlapping_another_planned_meeting_is_warned_about_too(
    as_region, db_session, ready, booked
):
    # The booked meeting runs 10:00-11:00: one at 10:30 is warned about, one starting as it ends is not.
    mails = _mails(db_session)
    warned = _post_booking(as_region, ready.case, **{**_typed(booked), "starts": "10:30", "ends": "11:30"})
    assert warned.status_code == 400
    html = text_of(warned)
    # The warning names the other meeting's day and time, not the start just typed.
    day = to_local(booked.starts_at).date().isoformat()
    assert 'id="starts-error"' in html and f"{WARNING}: {day} kl. 10:00–11:00." in html
    assert "kl. 10:30" not in html
    assert [m.id for m in _meetings(db_session, ready.case)] == [booked.id]
    assert _mails(db_session) == mails

    confirmed = _post_booking(
        as_region, ready.case, forms_of(html)[_booking_url(ready.case)], confirm_start="y"
    )
    assert confirmed.status_code == 303, text_of(confirmed)
    after = _post_booking(as_region, ready.case, **{**_typed(booked), "starts": "11:30", "ends": "12:30"})
    assert after.status_code == 303, text_of(after)
    assert len(_meetings(db_session, ready.case)) == 3


def test_moving_a_meeting_into_another_planned_meeting_asks_for_confirmation(
    as_region, db_session, ready, booked
):
    later = _post_booking(as_region, ready.case, **{**_typed(booked), "starts": "13:00", "ends": "14:00"})
    assert later.status_code == 303
    other = _meetings(db_session, ready.case)[-1]
    url = f"/cases/{ready.case.uid}/meetings/{other.id}"
    form = forms_of(text_of(as_region.get(url)))[f"{url}/change"]
    warned = as_region.post(
        f"{url}/change", data=fill(form, **{"change-starts": "09:30", "change-ends": "10:30"})
    )
    assert warned.status_code == 400 and WARNING in text_of(warned)
    db_session.expire_all()
    assert db_session.get(Meeting, other.id).sequence == 0


def test_the_warning_by_a_tick_sent_back_for_another_field_names_the_other_meeting_too(
    as_region, db_session, ready, booked
):
    warned = _post_booking(as_region, ready.case, **{**_typed(booked), "starts": "10:30", "ends": "11:30"})
    form = forms_of(text_of(warned))[_booking_url(ready.case)]
    again = _post_booking(as_region, ready.case, form, confirm_start="y", location="")
    assert again.status_code == 400
    html = text_of(again)
    day = to_local(booked.starts_at).date().isoformat()
    assert 'id="confirm_start-help"' in html and f"{WARNING}: {day} kl. 10:00–11:00." in html
    assert [m.id for m in _meetings(db_session, ready.case)] == [booked.id]
