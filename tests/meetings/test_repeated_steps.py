"""The kallelse booked, and a meeting's outcome recorded, sent again by their own user a moment later (a
double click, the back button): told done, never refused as someone else's change nor done twice; the
outcome page, once the outcome is recorded, says so. Sent twice at once too (both read the SIP before either
wrote)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from meetingkit import next_week_at
from sqlmodel import func, select
from webkit import fill, forms_of, login, text_of

from sipflow.cases.models import TransitionLog
from sipflow.clock import to_local
from sipflow.db import unit_of_work
from sipflow.meetings.models import Attendance, Meeting, MeetingDecision

CASE_CONFLICT = "Någon annan har ändrat denna SIP medan du arbetade"


@pytest.fixture
def as_region(client, parties):
    assert login(client, parties.region_user.username).status_code == 302
    return client


def _count(db_session, model, *where) -> int:
    db_session.expire_all()
    return db_session.exec(select(func.count()).select_from(model).where(*where)).one()


def _logs(db_session, case, trigger) -> int:
    return _count(
        db_session, TransitionLog, TransitionLog.case_id == case.id, TransitionLog.trigger == trigger
    )


def test_the_kallelse_booked_twice_by_its_user_is_told_done_and_booked_once(as_region, db_session, ready):
    url = f"/cases/{ready.case.uid}/meetings/new"
    form = forms_of(text_of(as_region.get(url)))[url]
    starts = to_local(next_week_at(10))
    invitees = [ready.person.id, ready.relative.id, ready.region.id, ready.municipality.id]
    data = fill(
        form,
        date=starts.date().isoformat(),
        starts="10:00",
        ends="11:00",
        mode="on_site",
        location="Storgatan 5",
        invitee_ids=invitees,
    )
    booked = as_region.post(url, data=data)
    assert booked.status_code == 303
    meeting_page = booked.headers["Location"]

    # The same form again, its ticks in another order: the invitees are a set.
    again_data = fill(form, **{k: data.getlist(k) for k in data} | {"invitee_ids": invitees[::-1]})
    again = as_region.post(url, data=again_data)
    assert again.status_code == 303 and again.headers["Location"] == meeting_page
    html = text_of(as_region.get(meeting_page))
    assert "redan gjort för en stund sedan, troligen ett dubbelklick" in html
    assert _count(db_session, Meeting, Meeting.case_id == ready.case.id) == 1
    assert _logs(db_session, ready.case, "send_kallelse") == 1


def test_a_kallelse_form_inviting_others_sent_after_the_user_s_own_is_a_conflict(
    as_region, db_session, ready
):
    url = f"/cases/{ready.case.uid}/meetings/new"
    form = forms_of(text_of(as_region.get(url)))[url]
    day = to_local(next_week_at(10)).date().isoformat()
    typed = {"date": day, "starts": "10:00", "ends": "11:00", "mode": "video"}
    everyone = [ready.person.id, ready.relative.id, ready.region.id, ready.municipality.id]
    assert as_region.post(url, data=fill(form, **typed, invitee_ids=everyone)).status_code == 303

    fewer = as_region.post(url, data=fill(form, **typed, invitee_ids=everyone[1:]))
    assert fewer.status_code == 409 and CASE_CONFLICT in text_of(fewer)
    assert _count(db_session, Meeting, Meeting.case_id == ready.case.id) == 1


@pytest.fixture
def outcome_form(frozen_clock, book, client, parties, ready):
    """A booked meeting an hour after its start, the region logged in: the meeting, the outcome page's
    action and form."""
    meeting = book()
    frozen_clock.set(meeting.starts_at + timedelta(hours=1))
    assert login(client, parties.region_user.username).status_code == 302
    as_region = client
    url = f"/cases/{ready.case.uid}/meetings/outcome"
    return meeting, url, forms_of(text_of(as_region.get(url)))[url]


def _outcome(ready, pairs, meeting):
    due = (to_local(meeting.starts_at).date() + timedelta(days=30)).isoformat()
    return fill(
        pairs,
        **{
            f"attendance_{ready.region.id}": "on_site",
            f"attendance_{ready.municipality.id}": "video",
            f"attendance_{ready.person.id}": "on_site",
            "decisions-0-text": "Kommunen ordnar boendestöd",
            "decisions-0-owner": f"unit:{ready.municipality.unit_id}",
            "decisions-0-due_on": due,
            "decisions-1-text": "Regionen bokar läkarbesök",
            "decisions-1-owner": f"organisation:{ready.region.organisation_id}",
            "decisions-1-due_on": due,
        },
    )


def test_the_outcome_recorded_twice_by_its_user_is_told_done_and_recorded_once(
    client, db_session, ready, outcome_form
):
    meeting, url, pairs = outcome_form
    data = _outcome(ready, pairs, meeting)
    first = client.post(url, data=data)
    assert first.status_code == 303, text_of(first)

    again = client.post(url, data=data)
    assert again.status_code == 303 and again.headers["Location"].endswith(f"/cases/{ready.case.uid}")
    assert "troligen ett dubbelklick" in text_of(client.get(f"/cases/{ready.case.uid}"))
    assert _logs(db_session, ready.case, "hold_meeting") == 1
    assert _count(db_session, MeetingDecision, MeetingDecision.meeting_id == meeting.id) == 2
    assert _count(db_session, Attendance, Attendance.meeting_id == meeting.id) == 3


def test_another_outcome_sent_after_the_user_s_own_is_a_conflict(client, db_session, ready, outcome_form):
    meeting, url, pairs = outcome_form
    data = _outcome(ready, pairs, meeting)
    assert client.post(url, data=data).status_code == 303

    data.setlist("decisions-1-text", ["Regionen bokar psykologsamtal"])
    again = client.post(url, data=data)
    assert again.status_code == 409
    assert "Regionen bokar psykologsamtal" in text_of(again)
    assert _count(db_session, MeetingDecision, MeetingDecision.meeting_id == meeting.id) == 2


def test_the_outcome_page_after_the_outcome_is_recorded_says_so(client, ready, outcome_form):
    meeting, url, pairs = outcome_form
    assert client.post(url, data=_outcome(ready, pairs, meeting)).status_code == 303

    page = client.get(url)
    assert page.status_code == 303
    assert page.headers["Location"].endswith(f"/cases/{ready.case.uid}/meetings/{meeting.id}")
    assert "Mötets utfall är redan registrerat." in text_of(client.get(page.headers["Location"]))


def test_the_outcome_sent_twice_at_once_is_told_done(
    client, db_session, engine, ready, outcome_form, monkeypatch
):
    """Both clicks read the SIP before either wrote: the second's claim finds the first's step."""
    from sqlmodel import Session

    from sipflow.cases.models import SipCase
    from sipflow.meetings import views

    meeting, url, pairs = outcome_form
    data = _outcome(ready, pairs, meeting)
    real = views.case_services.fire_transition

    def first_click_lands_first(session, registry, user, case, trigger, **kwargs):
        with Session(engine, expire_on_commit=False) as other, unit_of_work(other):
            real(
                other,
                registry,
                other.get(type(user), user.id),
                other.get(SipCase, case.id),
                trigger,
                **kwargs,
            )
        return real(session, registry, user, case, trigger, **kwargs)

    monkeypatch.setattr(views.case_services, "fire_transition", first_click_lands_first)
    again = client.post(url, data=data)
    assert again.status_code == 303, text_of(again)
    monkeypatch.undo()
    assert "troligen ett dubbelklick" in text_of(client.get(f"/cases/{ready.case.uid}"))
    assert _logs(db_session, ready.case, "hold_meeting") == 1
