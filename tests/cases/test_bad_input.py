"""Hostile dates and ids through the case pages: refused beside the field (or 404), never a server error."""

from __future__ import annotations

import re

import pytest
from sqlmodel import select
from webkit import csrf_token, fill, forms_of, login, text_of

from sipflow.cases.models import SipCase
from sipflow.cases.scripted import fire_scripted
from sipflow.clock import now_utc

# Far outside any date a SIP can mean; the first one overflowed on conversion to UTC.
FAR_PAST = "0001-01-01T00:00"
FAR_FUTURE = "9999-12-31T23:59"


@pytest.fixture
def as_region(client, parties):
    assert login(client, parties.region_user.username).status_code == 302
    return client


def reach(db_session, registry, actor, case, *triggers) -> None:
    for trigger in triggers:
        fire_scripted(db_session, registry, actor, case, trigger, now=now_utc())
        db_session.commit()


def version_of(db_session, case) -> int:
    db_session.expire_all()
    return db_session.get(SipCase, case.id).version


def post_step(client, case, trigger: str, **values):
    url = f"/cases/{case.uid}/transitions/{trigger}"
    form = forms_of(text_of(client.get(f"/cases/{case.uid}")))[url]
    return client.post(url, data=fill(form, **values))


def post_outcome(client, case, **values):
    url = f"/cases/{case.uid}/meetings/outcome"
    form = forms_of(text_of(client.get(url)))[url]
    return client.post(url, data=fill(form, **values))


PREPARING = ("give_consent", "start_preparation")
INVITED = (*PREPARING, "send_kallelse")
HELD = (*INVITED, "hold_meeting")

# (steps before, the step, its field, the hostile value)
DATE_FIELDS = [
    (PREPARING, "send_kallelse", "sent_at", FAR_PAST),
    (PREPARING, "send_kallelse", "meeting_starts_at", FAR_PAST),
    (PREPARING, "send_kallelse", "meeting_starts_at", FAR_FUTURE),
    (INVITED, "hold_meeting", "held_at", FAR_PAST),
    (INVITED, "hold_meeting", "decisions-0-due_on", "0001-01-01"),
    (INVITED, "hold_meeting", "decisions-0-due_on", "9999-12-31"),
    ((), "give_consent", "valid_until", "9999-12-31"),
]


@pytest.mark.parametrize(("before", "trigger", "field", "value"), DATE_FIELDS)
def test_a_date_outside_the_sane_window_is_refused_beside_its_field(
    as_region, db_session, registry, parties, create_case, before, trigger, field, value
):
    case = create_case()
    reach(db_session, registry, parties.region_user, case, *before)
    version = version_of(db_session, case)
    extra = {
        "send_kallelse": {f"{trigger}-channel": "LINK"},
        "give_consent": {f"{trigger}-form": "oral"},
    }.get(trigger, {})
    name = f"{trigger}-{field}"
    if trigger == "hold_meeting":
        # The meeting outcome has a page of its own, its fields without the step's prefix.
        name = field
        extra = {"moved": "y"}
        if field.startswith("decisions-"):
            owner = f"organisation:{parties.municipality.organisation_id}"
            extra |= {"decisions-0-text": "Hemtjänst", "decisions-0-owner": owner}
        response = post_outcome(as_region, case, **{name: value}, **extra)
    else:
        response = post_step(as_region, case, trigger, **{name: value}, **extra)
    assert response.status_code == 400
    html = text_of(response)
    assert f'id="{name}-error"' in html, re.findall(r"error[^>]*>[^<]*<li>[^<]*", html)
    assert "Ange ett datum mellan 1900-01-01 och" in html
    # What the user typed is still there to correct.
    assert value in html
    assert version_of(db_session, case) == version


def test_a_stale_step_form_with_a_date_outside_the_window_is_a_conflict_with_the_date_refused(
    as_region, db_session, registry, parties, create_case
):
    # Stale, the form was asked whether it was its sender's own second click, with a time in year 1 read as
    # UTC: a server error instead of the conflict.
    case = create_case()
    reach(db_session, registry, parties.region_user, case, *PREPARING)
    version = version_of(db_session, case)
    response = post_step(
        as_region,
        case,
        "send_kallelse",
        **{
            "send_kallelse-version": str(version - 1),
            "send_kallelse-channel": "LINK",
            "send_kallelse-sent_at": FAR_PAST,
        },
    )
    assert response.status_code == 409
    html = text_of(response)
    assert "Någon annan har ändrat denna SIP" in html
    assert 'id="send_kallelse-sent_at-error"' in html and FAR_PAST in html
    assert version_of(db_session, case) == version


@pytest.mark.parametrize("value", [FAR_PAST, FAR_FUTURE])
def test_new_case_refuses_an_utskrivningsklar_time_outside_the_window(as_region, value):
    page = text_of(as_region.get("/cases/new"))
    form = forms_of(page)["/cases/new"]
    response = as_region.post("/cases/new", data=fill(form, utskrivningsklar_at=value))
    assert response.status_code == 400
    assert 'id="utskrivningsklar_at-error"' in text_of(response)
    assert "Ange ett datum mellan 1900-01-01 och" in text_of(response)


def test_new_case_refuses_an_utskrivningsklar_time_the_clocks_skip(as_region, db_session):
    # 02:30 on the night summer time starts does not exist: refused at the field, as a meeting time is,
    # rather than quietly stored as 03:30.
    page = text_of(as_region.get("/cases/new"))
    form = forms_of(page)["/cases/new"]
    before = len(db_session.exec(select(SipCase)).all())
    response = as_region.post("/cases/new", data=fill(form, utskrivningsklar_at="2027-03-28T02:30"))
    assert response.status_code == 400
    assert 'id="utskrivningsklar_at-error"' in text_of(response)
    assert "Den tiden finns inte" in text_of(response) and "2027-03-28T02:30" in text_of(response)
    assert len(db_session.exec(select(SipCase)).all()) == before


def test_a_kallelse_sent_elsewhere_refuses_a_meeting_time_shown_twice_the_night_summer_time_ends(
    as_region, db_session, registry, parties, create_case
):
    # 02:30 on 31 October 2027 happens twice: booked at a guess, the meeting would be an hour off.
    case = create_case()
    reach(db_session, registry, parties.region_user, case, *PREPARING)
    version = version_of(db_session, case)
    response = post_step(
        as_region,
        case,
        "send_kallelse",
        **{"send_kallelse-channel": "LINK", "send_kallelse-meeting_starts_at": "2027-10-31T02:30"},
    )
    html = text_of(response)
    assert response.status_code == 400
    assert 'id="send_kallelse-meeting_starts_at-error"' in html
    assert "02:30 finns två gånger" in html and "2027-10-31T02:30" in html
    assert version_of(db_session, case) == version


HUGE = "99999999999999999999"


def test_an_id_too_large_for_the_database_is_not_found(as_region, create_case):
    case = create_case()
    assert as_region.get(f"/cases/{case.uid}/meetings/{HUGE}").status_code == 404
    assert as_region.get(f"/cases/{case.uid}/meetings/{2**31}").status_code == 404
    token = csrf_token(text_of(as_region.get(f"/cases/{case.uid}")))
    for path in (
        f"/cases/{case.uid}/meetings/{HUGE}/cancel",
        f"/cases/{case.uid}/meetings/{HUGE}/change",
        f"/cases/{case.uid}/meetings/{HUGE}/invite",
        f"/cases/{case.uid}/meetings/1/invitations/{HUGE}/withdraw",
    ):
        assert as_region.post(path, data={"csrf_token": token}).status_code == 404, path


def test_an_admin_url_with_an_id_too_large_is_not_found(client, make_user):
    admin = make_user(None, roles="admin")
    assert login(client, admin.username).status_code == 302
    token = csrf_token(text_of(client.get("/admin/users")))
    for action in ("disable", "enable", "sessions/end"):
        response = client.post(f"/admin/users/{HUGE}/{action}", data={"csrf_token": token})
        assert response.status_code == 404, action
