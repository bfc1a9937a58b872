"""A declared reminder to `huvudansvarig` before huvudansvar is given goes where the deadlines' reminders
go then (who started the case), not to no one; once huvudansvar is given it moves to its contact person."""

from __future__ import annotations

from remkit import reminders, sip_declaring
from sqlmodel import select

from sipflow.cases.models import Participant, SipCase
from sipflow.clock import now_utc
from sipflow.db import unit_of_work
from sipflow.reminders.services import DECLARED, reconcile_case


def _declaring(registry, case, monkeypatch):
    workflow = sip_declaring(
        "paminn_mote",
        "next_meeting",
        offset_days=-2,
        recipients=["huvudansvarig"],
        label={"sv": "Mötet närmar sig", "en": "The meeting is near"},
    )
    monkeypatch.setitem(registry._by_key, (case.workflow_name, case.workflow_version), workflow)
    return workflow


def _reconcile(db_session, workflow, case):
    with unit_of_work(db_session):
        reconcile_case(
            db_session, workflow, db_session.get(SipCase, case.id), now=now_utc(), families={DECLARED}
        )


def test_a_reminder_to_huvudansvarig_goes_to_the_starter_until_huvudansvar_is_given(
    engine, db_session, registry, parties, ready, book, monkeypatch
):
    case = ready.case
    workflow = _declaring(registry, case, monkeypatch)
    book()
    _reconcile(db_session, workflow, case)
    (row,) = reminders(engine, kind="workflow", topic="paminn_mote")
    assert (row.recipient_user_id, row.status) == (case.created_by_user_id, "pending")

    # Huvudansvar given to the municipality, whose contact person is named: the reminder is theirs now.
    with unit_of_work(db_session):
        rows = db_session.exec(select(Participant).where(Participant.case_id == case.id)).all()
        municipality = next(p for p in rows if p.organisation_id == parties.municipality.organisation_id)
        municipality.role = "huvudansvarig"
        db_session.add(municipality)
    _reconcile(db_session, workflow, case)
    pending = reminders(engine, kind="workflow", topic="paminn_mote", status="pending")
    assert [r.recipient_user_id for r in pending] == [parties.municipality_user.id]
