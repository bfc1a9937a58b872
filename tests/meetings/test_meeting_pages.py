"""The meeting pages: booking through the form (summer time included), changing, cancelling, the feed."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from ical.calendar_stream import IcsCalendarStream
from icalendar import Calendar
from meetingkit import invitation_of
from sqlmodel import select
from webkit import fill, forms_of, login, text_of

from sipflow.cases.models import SipCase
from sipflow.clock import now_utc, to_local
from sipflow.meetings.models import Meeting
from sipflow.notifications.models import OutboxMessage
from sipflow.people.models import Person


@pytest.fixture
def as_region(client, parties):
    login(client, parties.region_user.username)
    return client


def booking_url(case) -> str:
    return f"/cases/{case.uid}/meetings/new"


def submit_booking(client, case, **values):
    form = forms_of(text_of(client.get(booking_url(case))))[booking_url(case)]
    return client.post(booking_url(case), data=fill(form, **values))


def a_weekday_ahead(days: int = 10) -> date:
    day = to_local(now_utc()).date() + timedelta(days=days)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def test_the_booking_page_lists_every_participant_and_who_is_called_another_way(as_region, ready):
    page = text_of(as_region.get(booking_url(ready.case)))
    assert "Olle Andersson (närstående): ingen e-postadress, kallas på annat sätt" in page
    assert "Eva Andersson (närstående)" in page
    assert "tidsfristen för kallelse" in page  # the first booking is the kallelse


@pytest.mark.parametrize(("lang", "kind"), [("en", "relative"), ("sv", "närstående")])
def test_invitations_name_a_relative_in_the_page_s_language(as_region, ready, book, lang, kind):
    meeting = book()
    booking = text_of(as_region.get(f"{booking_url(ready.case)}?lang={lang}"))
    meeting_page = text_of(as_region.get(f"/cases/{ready.case.uid}/meetings/{meeting.id}?lang={lang}"))
    case_page = text_of(as_region.get(f"/cases/{ready.case.uid}?lang={lang}"))
    for page in (booking, meeting_page, case_page):
        assert f"Eva Andersson ({kind})" in page
    if lang == "en":
        assert "Andersson (närstående)" not in booking + meeting_page + case_page


def test_booking_through_the_page_sends_the_kallelse(as_region, db_session, ready):
    day = a_weekday_ahead()
    response = submit_booking(
        as_region, ready.case, date=day.isoformat(), starts="13:00", ends="14:30", mode="video"
    )
    assert response.status_code == 303
    meeting = db_session.exec(select(Meeting).where(Meeting.case_id == ready.case.id)).one()
    assert response.headers["Location"].endswith(f"/meetings/{meeting.id}")
    assert to_local(meeting.starts_at).replace(tzinfo=None) == datetime.combine(
        day, datetime.min.time()
    ).replace(hour=13)
    db_session.expire_all()
    assert db_session.get(SipCase, ready.case.id).state == "invited"
    page = text_of(as_region.get(response.headers["Location"]))
    assert "Skickad" in page and "Kallas på annat sätt" in page and meeting.video_url in page
    # Once the kallelse is out, the page books further meetings without a transition.
    assert "tidsfristen för kallelse" not in text_of(as_region.get(booking_url(ready.case)))


@pytest.mark.parametrize(
    ("local_day", "utc_hour"),
    [
        (date(2027, 3, 27), 9),  # the Saturday before summer time: UTC+1
        (date(2027, 3, 28), 8),  # the Sunday summer time starts: 10:00 is already UTC+2
        (date(2027, 10, 30), 8),  # the Saturday before winter time: UTC+2
        (date(2027, 10, 31), 9),  # the Sunday winter time starts: 10:00 is UTC+1 again
    ],
)
def test_meetings_on_summer_time_days_land_at_the_right_local_time(
    as_region, db_session, ready, smtp_app, smtp_server, local_day, utc_hour
):
    # Each is a weekend day: booked as the user does after the warning, the day confirmed.
    response = submit_booking(
        as_region,
        ready.case,
        date=local_day.isoformat(),
        starts="10:00",
        ends="11:00",
        mode="video",
        confirm_day="y",
        warned_day=local_day.isoformat(),
    )
    assert response.status_code == 303, text_of(response)
    meeting = db_session.exec(select(Meeting).where(Meeting.case_id == ready.case.id)).one()
    expected = datetime(local_day.year, local_day.month, local_day.day, utc_hour, tzinfo=UTC)
    assert meeting.starts_at.astimezone(UTC) == expected
    ics = next(p for p in smtp_server.received[0].message.walk() if p.get_content_type() == "text/calendar")
    raw = ics.get_payload(decode=True)
    assert f"DTSTART;TZID=Europe/Stockholm:{local_day:%Y%m%d}T100000".encode() in raw
    event = Calendar.from_ical(raw).walk("VEVENT")[0]
    assert event.decoded("DTSTART").astimezone(UTC) == expected
    other = IcsCalendarStream.calendar_from_ics(raw.decode()).events[0]
    assert other.dtstart.astimezone(UTC) == expected
    assert other.dtend.astimezone(UTC) == expected + timedelta(hours=1)


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        (
            # A day gone by is the date's fault, not the time's: refused beside the date.
            {"date": "2020-01-07", "starts": "10:00", "ends": "11:00"},
            "date",
            "Mötet måste ligga i framtiden.",
        ),
        ({"starts": "11:00", "ends": "10:00"}, "ends", "Mötet måste sluta efter att det börjat."),
        ({"date": "2027-03-28", "starts": "02:30", "ends": "04:00"}, "starts", "Den tiden finns inte"),
        ({"mode": "on_site", "location": ""}, "location", "Ange mötets adress."),
        ({"date": "idag"}, "date", None),
    ],
    ids=["past", "end-before-start", "no-such-time", "no-address", "bad-date"],
)
def test_a_bad_booking_is_shown_beside_its_field_and_nothing_is_booked(
    as_region, db_session, ready, values, field, message
):
    base = {"date": a_weekday_ahead().isoformat(), "starts": "10:00", "ends": "11:00", "mode": "video"}
    response = submit_booking(as_region, ready.case, **(base | values))
    assert response.status_code in (400, 409)
    html = text_of(response)
    assert f'id="{field}-error"' in html
    if message:
        assert message in html
    assert not db_session.exec(select(Meeting)).all() and not db_session.exec(select(OutboxMessage)).all()
    db_session.expire_all()
    assert db_session.get(SipCase, ready.case.id).state == "preparing"


def next_autumn_change() -> date:
    """The next Sunday summer time ends (the last of October), from tomorrow on."""
    today = to_local(now_utc()).date()
    for year in (today.year, today.year + 1):
        day = date(year, 10, 31)
        day -= timedelta(days=(day.weekday() + 1) % 7)
        if day > today:
            return day
    raise AssertionError("unreachable")


@pytest.mark.parametrize(
    ("starts", "ends", "field", "shown"),
    [("02:30", "03:30", "starts", "02:30"), ("01:00", "02:15", "ends", "02:15")],
    ids=["start", "end"],
)
def test_a_time_the_clocks_show_twice_is_refused_at_its_field(
    as_region, db_session, ready, starts, ends, field, shown
):
    # 02:30 that night is first 00:30 UTC and an hour later 01:30 UTC: 02:30-03:30 would last two hours.
    day = next_autumn_change().isoformat()
    response = submit_booking(
        as_region,
        ready.case,
        date=day,
        starts=starts,
        ends=ends,
        mode="video",
        confirm_day="y",
        warned_day=day,
    )
    assert response.status_code == 400
    html = text_of(response)
    error = re.search(rf'id="{field}-error".*?</ul>', html, re.S).group(0)
    assert f"{shown} finns två gånger den natten: klockan ställs tillbaka från 03:00 till 02:00." in error
    assert not db_session.exec(select(Meeting)).all() and not db_session.exec(select(OutboxMessage)).all()


def test_a_meeting_cannot_be_moved_to_a_time_the_clocks_show_twice(as_region, db_session, ready, book):
    meeting = book()
    url = f"/cases/{ready.case.uid}/meetings/{meeting.id}"
    day = next_autumn_change().isoformat()
    form = forms_of(text_of(as_region.get(url)))[f"{url}/change"]
    values = {"change-date": day, "change-starts": "02:00", "change-ends": "03:00", "change-confirm_day": "y"}
    response = as_region.post(f"{url}/change", data=fill(form, **values, **{"change-warned_day": day}))
    assert response.status_code == 400
    assert "02:00 finns två gånger den natten" in text_of(response)
    assert 'id="change-starts-error"' in text_of(response) and 'id="change-ends-error"' not in text_of(
        response
    )
    db_session.expire_all()
    assert db_session.get(Meeting, meeting.id).sequence == meeting.sequence


def test_only_the_kallelse_parties_may_book(client, parties, ready):
    login(client, parties.municipality_user.username)
    assert client.get(booking_url(ready.case)).status_code == 403


def _meeting_page(client, db_session, case):
    meeting = db_session.exec(select(Meeting).where(Meeting.case_id == case.id)).one()
    url = f"/cases/{case.uid}/meetings/{meeting.id}"
    return meeting, url, forms_of(text_of(client.get(url)))


def test_moving_and_cancelling_through_the_meeting_page(
    as_region, db_session, ready, book, smtp_app, smtp_server
):
    book()
    smtp_server.clear()
    meeting, url, forms = _meeting_page(as_region, db_session, ready.case)
    new_day = a_weekday_ahead(12)
    response = as_region.post(
        f"{url}/change",
        data=fill(
            forms[f"{url}/change"],
            **{"change-date": new_day.isoformat(), "change-starts": "09:00", "change-ends": "10:00"},
        ),
    )
    assert response.status_code == 303, text_of(response)
    db_session.expire_all()
    moved = db_session.get(Meeting, meeting.id)
    assert moved.sequence == 1 and to_local(moved.starts_at).date() == new_day
    assert len(smtp_server.received) == 4
    smtp_server.clear()
    forms = forms_of(text_of(as_region.get(url)))
    response = as_region.post(f"{url}/cancel", data=fill(forms[f"{url}/cancel"]))
    assert response.status_code == 303
    db_session.expire_all()
    assert db_session.get(Meeting, meeting.id).status == "cancelled"
    assert len(smtp_server.received) == 4
    page = text_of(as_region.get(url))
    assert "Inställt" in page and f"{url}/change" not in page


def test_a_change_into_the_past_is_refused_beside_the_field(as_region, db_session, ready, book):
    book()
    meeting, url, forms = _meeting_page(as_region, db_session, ready.case)
    response = as_region.post(
        f"{url}/change", data=fill(forms[f"{url}/change"], **{"change-date": "2020-01-07"})
    )
    assert response.status_code == 400
    # A day gone by is refused beside the date, not the time.
    error = re.search(r'id="change-date-error".*?</ul>', text_of(response), re.S).group(0)
    assert "Mötet måste ligga i framtiden." in error
    assert 'id="change-starts-error"' not in text_of(response)
    db_session.expire_all()
    assert db_session.get(Meeting, meeting.id).sequence == 0


def test_withdrawing_an_invitation_from_the_meeting_page(as_region, db_session, ready, book):
    book()
    meeting, url, forms = _meeting_page(as_region, db_session, ready.case)
    invitation = invitation_of(db_session, meeting, ready.relative)
    action = f"{url}/invitations/{invitation.id}/withdraw"
    response = as_region.post(action, data=fill(forms[action]))
    assert response.status_code == 303
    assert invitation_of(db_session, meeting, ready.relative).removed_at is not None
    page = text_of(as_region.get(url))
    assert "Kallelsen återkallad" in page


def test_setting_the_persons_address_on_the_case_page(as_region, db_session, ready):
    url = f"/cases/{ready.case.uid}"
    action = f"{url}/participants/contact"
    form = forms_of(text_of(as_region.get(url)))[action]
    bad = as_region.post(
        action,
        data=fill(
            form, **{"contact-participant_id": str(ready.person.id), "contact-email": "not an address"}
        ),
    )
    assert bad.status_code == 400 and 'id="contact-email-error"' in text_of(bad)
    good = as_region.post(
        action,
        data=fill(form, **{"contact-participant_id": str(ready.person.id), "contact-email": "ny@example.se"}),
    )
    assert good.status_code == 303
    db_session.expire_all()
    assert db_session.get(type(ready.person), ready.person.id).email == "ny@example.se"


# --- The calendar feed -------------------------------------------------------------------------------------


def feed_path(client) -> str:
    page = text_of(client.get("/account/calendar"))
    start = page.index('value="http') + len('value="')
    url = page[start : page.index('"', start)]
    assert "webcal://" in page
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


def test_the_feed_lists_my_meetings_without_personal_data_and_can_be_renewed(
    as_region, client, db_session, ready, book, parties
):
    meeting = book(mode="on_site", location="Storgatan 1")
    path = feed_path(as_region)
    anonymous = type(client)(client.application, client.application.response_class)
    response = anonymous.get(path)
    assert response.status_code == 200 and response.mimetype == "text/calendar"
    calendar = Calendar.from_ical(response.data)
    events = calendar.walk("VEVENT")
    assert [str(e["UID"]) for e in events] == [meeting.uid]
    assert str(events[0]["SUMMARY"]) == f"SIP-möte {ready.case.reference}"
    person = db_session.get(Person, ready.case.person_id)
    assert (
        person.given_name.encode() not in response.data and person.family_name.encode() not in response.data
    )
    assert b"eva.andersson" not in response.data
    assert len(IcsCalendarStream.calendar_from_ics(response.data.decode()).events) == 1
    forms = forms_of(text_of(as_region.get("/account/calendar")))
    assert (
        as_region.post("/account/calendar/renew", data=fill(forms["/account/calendar/renew"])).status_code
        == 303
    )
    assert anonymous.get(path).status_code == 404
    assert anonymous.get(feed_path(as_region)).status_code == 200
    assert anonymous.get("/calendar/" + "0" * 32 + "." + "0" * 32 + ".ics").status_code == 404


def test_the_feed_is_written_in_its_owners_language(as_region, client, db_session, ready, book, parties):
    """The calendar program fetches the feed without a login or a session: the entries are written in the
    language the staff member chose, as their mails are, not always in Swedish."""
    from sipflow.db import unit_of_work
    from sipflow.people.services import set_user_language

    meeting = book()
    with unit_of_work(db_session):
        set_user_language(db_session, parties.region_user, "en")
    path = feed_path(as_region)
    anonymous = type(client)(client.application, client.application.response_class)
    calendar = Calendar.from_ical(anonymous.get(path).data)
    assert str(calendar["X-WR-CALNAME"]) == "SIP meetings"
    (event,) = [e for e in calendar.walk("VEVENT") if str(e["UID"]) == meeting.uid]
    assert str(event["SUMMARY"]) == f"SIP meeting {ready.case.reference}"
    assert str(event["DESCRIPTION"]).startswith("SIP meeting (coordinated individual plan)")
    # A Swedish colleague's feed stays Swedish.
    colleague = type(client)(client.application, client.application.response_class)
    login(colleague, parties.municipality_user.username)
    swedish = Calendar.from_ical(anonymous.get(feed_path(colleague)).data)
    assert str(swedish["X-WR-CALNAME"]) == "SIP-möten"


def test_an_office_behind_one_address_keeps_its_feeds_and_guessing_is_refused(client, db_session, parties):
    # Calendar programs of a whole office (or a calendar service) fetch from one address, every hour or so.
    from sipflow.meetings.feed import feed_token, renew_feed_key

    colleagues = [parties.region_user, parties.municipality_user]
    for user in colleagues:
        renew_feed_key(db_session, user)
    db_session.commit()
    paths = [f"/calendar/{feed_token(user)}.ics" for user in colleagues]
    statuses = {client.get(path).status_code for _ in range(70) for path in paths}
    assert statuses == {200}
    # One feed asked for without end is refused; guessing from the address is refused after 120 tries.
    assert [client.get(paths[0]).status_code for _ in range(51)][-1] == 429
    guesses = [client.get("/calendar/" + "0" * 32 + "." + "0" * 32 + ".ics").status_code for _ in range(121)]
    assert guesses[:120] == [404] * 120 and guesses[120] == 429


def test_the_feed_follows_the_consent(client, db_session, registry, ready, book, parties):
    from meetingkit import fire

    meeting = book()
    login(client, parties.municipality_user.username)
    path = feed_path(client)
    assert meeting.uid.encode() in client.get(path).data
    fire(db_session, registry, parties.region_user, ready.case, "withdraw_consent", reason="Återkallat")
    assert meeting.uid.encode() not in client.get(path).data


def test_inviting_someone_added_after_the_booking(
    as_region, db_session, registry, ready, book, smtp_app, smtp_server
):
    from sipflow.cases import services as case_services
    from sipflow.db import unit_of_work

    book()
    with unit_of_work(db_session):
        late = case_services.add_private_participant(
            db_session,
            registry,
            ready.case,
            kind="narstaende",
            name="Stina Andersson",
            relation="dotter",
            email="stina@example.se",
            phone=None,
            now=now_utc(),
        )
    smtp_server.clear()
    meeting, url, forms = _meeting_page(as_region, db_session, ready.case)
    page = text_of(as_region.get(url))
    # Only the newcomer is offered: everyone else is invited already.
    assert page.count('name="invite-invitee_ids"') == 1 and f'value="{late.id}"' in page
    form = forms[f"{url}/invite"]
    nobody = as_region.post(f"{url}/invite", data=fill(form))
    assert nobody.status_code == 400 and 'id="invite-invitee_ids-error"' in text_of(nobody)
    response = as_region.post(f"{url}/invite", data=fill(form, **{"invite-invitee_ids": str(late.id)}))
    assert response.status_code == 303
    assert [r.rcpt_tos for r in smtp_server.received] == [("stina@example.se",)]
    assert "Stina Andersson (närstående)" in text_of(as_region.get(url))
