"""Stale meeting forms: a page loaded before someone else's change is refused as a conflict, input kept."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from meetingkit import everyone, invitation_of
from sqlmodel import func, select
from webkit import fill, forms_of, login, text_of

from sipflow.cases.models import SipCase
from sipflow.clock import now_utc, to_local
from sipflow.db import unit_of_work
from sipflow.meetings import services
from sipflow.meetings.booking import Booking
from sipflow.meetings.models import Invitation, Meeting
from sipflow.notifications.models import OutboxMessage

CASE_CONFLICT = "Någon annan har ändrat denna SIP medan du arbetade"
MEETING_CONFLICT = "Någon annan har ändrat mötet medan du arbetade."


@pytest.fixture
def as_region(client, parties):
    login(client, parties.region_user.username)
    return client


def count(db_session, model, *where) -> int:
    db_session.expire_all()
    return db_session.exec(select(func.count()).select_from(model).where(*where)).one()


def a_weekday_ahead(days: int) -> str:
    day = to_local(now_utc()).date() + timedelta(days=days)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day.isoformat()


def meeting_forms(client, case, meeting):
    url = f"/cases/{case.uid}/meetings/{meeting.id}"
    return url, forms_of(text_of(client.get(url)))


def move(client, url, forms, **values):
    return client.post(f"{url}/change", data=fill(forms[f"{url}/change"], **values))


# --- Booking ----------------------------------------------------------------------------------------------


def test_a_booking_page_loaded_before_the_kallelse_was_booked_books_nothing(as_region, db_session, ready):
    url = f"/cases/{ready.case.uid}/meetings/new"
    mine = forms_of(text_of(as_region.get(url)))[url]
    theirs = forms_of(text_of(as_region.get(url)))[url]
    day = a_weekday_ahead(10)
    booked = as_region.post(url, data=fill(theirs, date=day, starts="10:00", ends="11:00", mode="video"))
    assert booked.status_code == 303
    mails = count(db_session, OutboxMessage)

    typed = {"date": day, "starts": "13:15", "ends": "14:45", "mode": "on_site", "location": "Storgatan 5"}
    stale = as_region.post(url, data=fill(mine, **typed))
    assert stale.status_code == 409
    html = text_of(stale)
    assert CASE_CONFLICT in html
    # Nothing the user typed is lost.
    assert 'value="13:15"' in html and 'value="14:45"' in html and 'value="Storgatan 5"' in html
    assert count(db_session, Meeting, Meeting.case_id == ready.case.id) == 1
    assert count(db_session, OutboxMessage) == mails

    # Sent again from the page that showed the conflict, it is a deliberate further meeting.
    again = as_region.post(url, data=fill(forms_of(html)[url]))
    assert again.status_code == 303
    assert count(db_session, Meeting, Meeting.case_id == ready.case.id) == 2


def test_a_booking_form_from_before_another_step_is_a_conflict(
    as_region, db_session, registry, parties, ready
):
    from meetingkit import fire

    url = f"/cases/{ready.case.uid}/meetings/new"
    mine = forms_of(text_of(as_region.get(url)))[url]
    fire(db_session, registry, parties.region_user, ready.case, "send_kallelse", channel="LINK")
    response = as_region.post(
        url, data=fill(mine, date=a_weekday_ahead(9), starts="10:00", ends="11:00", mode="video")
    )
    assert response.status_code == 409 and CASE_CONFLICT in text_of(response)
    assert count(db_session, Meeting, Meeting.case_id == ready.case.id) == 1  # the one LINK recorded


def test_a_further_meeting_posted_twice_is_booked_once(as_region, db_session, ready, book):
    """The same booking form sent again (a double click, the back button) is a conflict, not a new meeting."""
    book()  # the kallelse: what follows is a further meeting, booked outside a step
    url = f"/cases/{ready.case.uid}/meetings/new"
    form = forms_of(text_of(as_region.get(url)))[url]
    typed = {"date": a_weekday_ahead(12), "starts": "09:00", "ends": "10:00", "mode": "video"}
    assert as_region.post(url, data=fill(form, **typed)).status_code == 303
    meetings = count(db_session, Meeting, Meeting.case_id == ready.case.id)
    mails = count(db_session, OutboxMessage)

    again = as_region.post(url, data=fill(form, **typed))
    assert again.status_code == 409
    html = text_of(again)
    assert CASE_CONFLICT in html
    assert 'value="09:00"' in html and 'value="10:00"' in html and f'value="{typed["date"]}"' in html
    assert count(db_session, Meeting, Meeting.case_id == ready.case.id) == meetings
    assert count(db_session, OutboxMessage) == mails


# --- One meeting ------------------------------------------------------------------------------------------


def test_a_stale_move_does_not_overwrite_another_users_move(as_region, db_session, ready, book):
    meeting = book()
    url, mine = meeting_forms(as_region, ready.case, meeting)
    _, theirs = meeting_forms(as_region, ready.case, meeting)
    day = a_weekday_ahead(12)
    assert (
        move(
            as_region, url, theirs, **{"change-date": day, "change-starts": "14:00", "change-ends": "15:00"}
        ).status_code
        == 303
    )
    db_session.expire_all()
    moved = db_session.get(Meeting, meeting.id)
    mails = count(db_session, OutboxMessage)

    response = move(
        as_region,
        url,
        mine,
        **{
            "change-date": day,
            "change-starts": "08:30",
            "change-mode": "on_site",
            "change-location": "Torget 1",
        },
    )
    assert response.status_code == 409
    html = text_of(response)
    assert MEETING_CONFLICT in html
    assert 'value="08:30"' in html and 'value="Torget 1"' in html
    db_session.expire_all()
    kept = db_session.get(Meeting, meeting.id)
    assert (kept.starts_at, kept.mode, kept.sequence) == (moved.starts_at, moved.mode, moved.sequence)
    assert count(db_session, OutboxMessage) == mails

    # The conflict page carries the current version: sending it again applies the change knowingly.
    assert move(as_region, url, forms_of(html)).status_code == 303
    db_session.expire_all()
    assert db_session.get(Meeting, meeting.id).location == "Torget 1"


def _values(html: str, action: str) -> dict[str, str]:
    return dict(forms_of(html)[action])


def test_a_stale_change_takes_someone_elses_move_and_keeps_only_the_users_own_changes(
    as_region, db_session, ready, book
):
    """Tab A moves the meeting; tab B, opened before, changes only its form and place. After the conflict
    B's form shows A's new time, with B's own changes kept: sent again, it does not move the meeting back."""
    meeting = book()
    url, tab_b = meeting_forms(as_region, ready.case, meeting)
    _, tab_a = meeting_forms(as_region, ready.case, meeting)
    day = a_weekday_ahead(12)
    moved_to = {"change-date": day, "change-starts": "14:00", "change-ends": "15:00"}
    assert move(as_region, url, tab_a, **moved_to).status_code == 303
    db_session.expire_all()
    moved = db_session.get(Meeting, meeting.id)
    moved_at = (moved.starts_at, moved.ends_at)

    mine = {"change-mode": "mixed", "change-location": "Storgatan 5", "change-room": "Rum 3"}
    response = move(as_region, url, tab_b, **mine)
    assert response.status_code == 409
    html = text_of(response)
    assert (
        "Någon annan har ändrat mötet medan du arbetade. Formuläret nedan visar mötet som det är nu" in html
    )
    shown = _values(html, f"{url}/change")
    # What B left as it was is the meeting as it is now; what B changed is as B typed it.
    assert {name: shown[name] for name in moved_to} == moved_to
    assert {name: shown[name] for name in mine} == mine
    assert "Ändrat av någon annan" not in html  # nothing both changed

    again = as_region.post(f"{url}/change", data=fill(forms_of(html)[f"{url}/change"]))
    assert again.status_code == 303
    db_session.expire_all()
    kept = db_session.get(Meeting, meeting.id)
    assert (kept.starts_at, kept.ends_at) == moved_at
    assert (kept.mode, kept.location, kept.room) == ("mixed", "Storgatan 5", "Rum 3")


def test_a_value_both_users_changed_keeps_what_was_typed_and_says_what_it_is_now(
    as_region, db_session, ready, book
):
    meeting = book()
    url, mine = meeting_forms(as_region, ready.case, meeting)
    _, theirs = meeting_forms(as_region, ready.case, meeting)
    theirs_typed = {"change-starts": "14:00", "change-ends": "15:00", "change-mode": "on_site"}
    assert move(as_region, url, theirs, **theirs_typed, **{"change-location": "Torget 1"}).status_code == 303

    typed = {"change-starts": "08:30", "change-mode": "mixed", "change-location": "Storgatan 5"}
    response = move(as_region, url, mine, **typed, **{"change-room": "Rum 3"})
    assert response.status_code == 409
    html = text_of(response)
    shown = _values(html, f"{url}/change")
    assert {name: shown[name] for name in typed} == typed and shown["change-room"] == "Rum 3"
    # Left as it was: the meeting's day and end as they are now.
    assert shown["change-ends"] == "15:00"
    for name, theirs, yours in (
        ("starts", "14:00", "08:30"),
        ("mode", "På plats", "Blandat"),
        ("location", "Torget 1", "Storgatan 5"),
    ):
        error = re.search(rf'id="change-{name}-error".*?</ul>', html, re.S).group(0)
        assert f"Ändrat av någon annan till {theirs}; du skrev {yours}." in error
    # Changed by this user alone (the room), or by nobody: nothing to say.
    for name in ("date", "ends", "room"):
        assert f'id="change-{name}-error"' not in html
    # The form is shown open, the conflict at the top and beside the fields.
    assert re.search(r'<details class="action" open>\s*<summary>Flytta eller ändra mötet', html)


def test_a_stale_change_without_the_values_shown_keeps_everything_typed(as_region, db_session, ready, book):
    """A form that does not say what it showed (a page from before it did) is kept as typed, as before."""
    meeting = book()
    url, mine = meeting_forms(as_region, ready.case, meeting)
    _, theirs = meeting_forms(as_region, ready.case, meeting)
    assert (
        move(as_region, url, theirs, **{"change-starts": "14:00", "change-ends": "15:00"}).status_code == 303
    )
    for shown in (None, "not json", '{"date": 1}'):
        response = move(as_region, url, mine, **{"change-room": "Rum 9", "change-shown": shown})
        assert response.status_code == 409
        values = _values(text_of(response), f"{url}/change")
        assert values["change-starts"] == "10:00" and values["change-room"] == "Rum 9"


@pytest.mark.parametrize("action", ["cancel", "withdraw", "invite"])
def test_stale_cancel_withdraw_and_invite_are_conflicts(as_region, db_session, ready, book, action):
    invitees = [i for i in everyone(ready) if i != ready.relative_without_email.id]
    meeting = book(invitee_ids=invitees)
    url, mine = meeting_forms(as_region, ready.case, meeting)
    _, theirs = meeting_forms(as_region, ready.case, meeting)
    assert (
        move(as_region, url, theirs, **{"change-starts": "15:00", "change-ends": "16:00"}).status_code == 303
    )
    invitation = invitation_of(db_session, meeting, ready.relative)
    invitations = count(db_session, Invitation, Invitation.meeting_id == meeting.id)
    path = {
        "cancel": f"{url}/cancel",
        "withdraw": f"{url}/invitations/{invitation.id}/withdraw",
        "invite": f"{url}/invite",
    }[action]
    values = {"invite-invitee_ids": str(ready.relative_without_email.id)} if action == "invite" else {}
    response = as_region.post(path, data=fill(mine[path], **values))
    assert response.status_code == 409
    assert MEETING_CONFLICT in text_of(response)
    db_session.expire_all()
    assert db_session.get(Meeting, meeting.id).status == "planned"
    assert invitation_of(db_session, meeting, ready.relative).removed_at is None
    assert count(db_session, Invitation, Invitation.meeting_id == meeting.id) == invitations


def test_two_changes_from_the_same_version_cannot_both_win(db_session, ready, book):
    meeting = book()
    seen = meeting.sequence
    later = Booking(
        meeting.starts_at + timedelta(hours=2), meeting.ends_at + timedelta(hours=2), "video", None, None
    )
    with unit_of_work(db_session):
        assert services.change_meeting(
            db_session, ready.case, meeting, later, now=now_utc(), expected_sequence=seen
        )
    earlier = Booking(meeting.starts_at - timedelta(hours=1), meeting.ends_at, "video", None, None)
    with pytest.raises(services.StaleMeeting), unit_of_work(db_session):
        services.change_meeting(
            db_session, ready.case, meeting, earlier, now=now_utc(), expected_sequence=seen
        )
    db_session.expire_all()
    assert db_session.get(Meeting, meeting.id).sequence == seen + 1
    assert db_session.get(SipCase, ready.case.id).state == "invited"


def test_of_two_sessions_moving_from_the_same_sequence_only_one_writes(app, engine, ready, book):
    from sqlmodel import Session

    meeting_id = book().id
    with Session(engine, expire_on_commit=False) as first, Session(engine, expire_on_commit=False) as second:
        mine, theirs = first.get(Meeting, meeting_id), second.get(Meeting, meeting_id)
        case_a, case_b = first.get(SipCase, ready.case.id), second.get(SipCase, ready.case.id)
        seen = mine.sequence
        assert theirs.sequence == seen
        two_hours = timedelta(hours=2)
        later = Booking(mine.starts_at + two_hours, mine.ends_at + two_hours, "video", None, None)
        with unit_of_work(first):
            services.change_meeting(first, case_a, mine, later, now=now_utc(), expected_sequence=seen)
        mails = first.exec(select(func.count()).select_from(OutboxMessage)).one()
        # The second session still holds the meeting as it was read: only the database can tell it is stale.
        with pytest.raises(services.StaleMeeting), unit_of_work(second):
            services.cancel_meeting(second, case_b, theirs, now=now_utc(), expected_sequence=seen)
    with Session(engine) as check:
        stored = check.get(Meeting, meeting_id)
        assert (stored.status, stored.sequence, stored.starts_at) == ("planned", seen + 1, later.starts_at)
        assert check.exec(select(func.count()).select_from(OutboxMessage)).one() == mails
