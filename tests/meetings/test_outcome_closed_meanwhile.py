"""An outcome recorded for a meeting that someone else cancelled, or recorded as held, while the page was
open: the page says which (not "cancelled or already held", not "not a valid choice", not only that the
SIP changed), and shows back everything that was typed. Nothing is recorded."""

from __future__ import annotations

import html as html_lib
import re
from datetime import timedelta

import pytest
from meetingkit import fire
from sqlmodel import Session, func, select
from support import new_user
from webkit import fill, forms_of, login, text_of

from sipflow.cases import services as case_services
from sipflow.cases.models import SipCase, TransitionLog
from sipflow.clock import now_utc
from sipflow.db import unit_of_work
from sipflow.meetings import services
from sipflow.meetings.models import CANCELLED, HELD, Attendance, Meeting

pytestmark = pytest.mark.db

CANCELLED_MESSAGE = "Mötet har ställts in; det går inte längre att ändra."
HELD_MESSAGE = "Mötet har redan hållits och dess utfall är registrerat; det går inte längre att ändra."
KEPT = "Det du skrev finns kvar nedan."
OLD_MESSAGE = "Mötet är inställt eller redan hållet"
REASON = "Eva tar över kontakten med skolan, allt annat fortsätter som planerat"


@pytest.fixture
def held(frozen_clock, book, client, parties):
    """A booked meeting, the clock an hour after it started, the region's user logged in on the page."""
    meeting = book()
    frozen_clock.set(meeting.starts_at + timedelta(hours=1))
    assert login(client, parties.region_user.username).status_code == 302
    return meeting


def outcome_url(case) -> str:
    return f"/cases/{case.uid}/meetings/outcome"


def typed(client, ready) -> dict:
    """The outcome form as the page offers it, with what the user typed: a reason, one attendance changed."""
    url = outcome_url(ready.case)
    pairs = forms_of(text_of(client.get(url)))[url]
    return fill(pairs, no_change_reason=REASON, **{f"attendance_{ready.relative.id}": "phone"})


def selected(page: str, name: str) -> str | None:
    """The value of the option the page has selected in the select named name."""
    select = re.search(rf'<select[^>]*name="{name}"[^>]*>(.*?)</select>', page, re.S)
    option = re.search(r'<option selected value="([^"]*)"', select.group(1)) if select else None
    return option.group(1) if option else None


def assert_refused_and_kept(response, ready, message: str) -> None:
    assert response.status_code == 409
    page = html_lib.unescape(text_of(response))
    assert message in page and KEPT in page
    assert OLD_MESSAGE not in page and "Inte ett giltigt val" not in page
    # What was typed is in the form again, to send once more or copy.
    assert REASON in page and selected(page, f"attendance_{ready.relative.id}") == "phone"


def nothing_recorded_by(db_session, case, meeting: Meeting, status: str) -> None:
    db_session.expire_all()
    kept = db_session.get(Meeting, meeting.id)
    assert kept.status == status
    assert kept.no_change_reason != REASON
    assert not db_session.exec(select(Attendance).where(Attendance.mode == "phone")).all()


def test_a_meeting_cancelled_before_the_outcome_is_sent_is_said_to_be_cancelled(
    client, db_session, ready, held
):
    data = typed(client, ready)
    db_session.refresh(held)
    with unit_of_work(db_session):
        services.cancel_meeting(db_session, ready.case, held, now=now_utc(), expected_sequence=held.sequence)

    response = client.post(outcome_url(ready.case), data=data)

    assert_refused_and_kept(response, ready, CANCELLED_MESSAGE)
    assert HELD_MESSAGE not in text_of(response)
    nothing_recorded_by(db_session, ready.case, held, CANCELLED)


def test_a_meeting_someone_else_recorded_before_the_outcome_is_sent_is_said_to_be_held(
    client, db_session, registry, parties, ready, held
):
    data = typed(client, ready)
    with unit_of_work(db_session):
        colleague = new_user(db_session, parties.region)
    fire(
        db_session,
        registry,
        colleague,
        ready.case,
        "hold_meeting",
        meeting_id=held.id,
        moved=False,
        held_at=held.starts_at,
    )

    response = client.post(outcome_url(ready.case), data=data)

    assert_refused_and_kept(response, ready, HELD_MESSAGE)
    assert CANCELLED_MESSAGE not in text_of(response)
    nothing_recorded_by(db_session, ready.case, held, HELD)
    logs = db_session.exec(
        select(func.count()).where(
            TransitionLog.case_id == ready.case.id, TransitionLog.trigger == "hold_meeting"
        )
    ).one()
    assert logs == 1  # the colleague's


def test_a_meeting_cancelled_while_the_outcome_is_being_recorded_is_said_to_be_cancelled(
    client, db_session, engine, ready, held, monkeypatch
):
    """The cancellation commits after the page's POST read the meeting, before its step claims it."""
    data = typed(client, ready)
    fire_transition = case_services.fire_transition

    def cancelled_first(*args, **kwargs):
        with Session(engine, expire_on_commit=False) as other, unit_of_work(other):
            meeting = other.get(Meeting, held.id)
            services.cancel_meeting(
                other, other.get(SipCase, ready.case.id), meeting, now=now_utc(), expected_sequence=0
            )
        return fire_transition(*args, **kwargs)

    monkeypatch.setattr(case_services, "fire_transition", cancelled_first)
    response = client.post(outcome_url(ready.case), data=data)

    assert_refused_and_kept(response, ready, CANCELLED_MESSAGE)
    nothing_recorded_by(db_session, ready.case, held, CANCELLED)
