"""The meeting outcome sent after a participant was taken off the SIP: the attendance chosen for them and a
decision row they owned are named beside their groups and rows, the decision's text kept, never dropped
silently nor written to anybody else."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlmodel import select
from webkit import fill, forms_of, login, text_of

from sipflow.cases import services
from sipflow.cases.models import SipCase
from sipflow.clock import now_utc, to_local
from sipflow.db import unit_of_work
from sipflow.meetings.models import Attendance, Meeting, MeetingDecision

DECISION = "Morfar ringer kommunen"


@pytest.fixture
def held_with_morfar(frozen_clock, book, client, db_session, registry, parties, ready):
    """A booked meeting an hour after its start, a närstående Morfar Test on the SIP, the region logged in."""
    meeting = book()
    with unit_of_work(db_session):
        morfar = services.add_private_participant(
            db_session,
            registry,
            db_session.get(SipCase, ready.case.id),
            kind="narstaende",
            name="Morfar Test",
            relation="morfar",
            email=None,
            phone=None,
            now=now_utc(),
        )
    frozen_clock.set(meeting.starts_at + timedelta(hours=1))
    assert login(client, parties.region_user.username).status_code == 302
    return meeting, morfar


def test_a_removed_participant_s_attendance_and_decision_are_named(
    client, db_session, registry, parties, ready, held_with_morfar
):
    meeting, morfar = held_with_morfar
    url = f"/cases/{ready.case.uid}/meetings/outcome"
    pairs = forms_of(text_of(client.get(url)))[url]
    assert f"attendance_{morfar.id}" in dict(pairs)
    # A colleague takes Morfar off the SIP while the outcome form is open.
    case = db_session.get(SipCase, ready.case.id)
    db_session.refresh(case)
    with unit_of_work(db_session):
        services.remove_participant(
            db_session,
            registry,
            case,
            parties.region_user,
            morfar.id,
            reason="Tillagd av misstag",
            now=now_utc(),
            expected_version=case.version,
        )
    due = (to_local(now_utc()).date() + timedelta(days=14)).isoformat()
    response = client.post(
        url,
        data=fill(
            pairs,
            **{
                f"attendance_{morfar.id}": "phone",
                "decisions-0-text": DECISION,
                "decisions-0-owner": f"participant:{morfar.id}",
                "decisions-0-due_on": due,
            },
        ),
    )
    assert response.status_code == 409
    html = text_of(response)
    assert "Det du skrev finns kvar nedan" in html
    attendance = re.search(r'<fieldset class="group[^"]*" id="attendance"[^>]*>.*?</fieldset>', html, re.S)[0]
    assert (
        "Morfar Test (närstående) har tagits bort från SIP:en: närvaron du valde (Telefon) registreras inte."
        in attendance
    )
    decision = re.search(r'<fieldset class="decision">.*?</fieldset>', html, re.S)[0]
    assert DECISION in decision
    assert "Morfar Test (närstående) har tagits bort från SIP:en. Välj igen vem som gör det." in decision
    owner = re.search(r'<select[^>]*name="decisions-0-owner".*?</select>', decision, re.S)[0]
    assert owner.count("selected") == 1 and '<option selected value="">' in owner
    db_session.expire_all()
    assert db_session.get(Meeting, meeting.id).status == "planned"
    assert not db_session.exec(select(Attendance).where(Attendance.meeting_id == meeting.id)).all()
    assert not db_session.exec(select(MeetingDecision).where(MeetingDecision.meeting_id == meeting.id)).all()
