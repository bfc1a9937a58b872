"""An overdue effort's reminder is written just after midnight and mailed at 07:00. Its organisation, named
in the plan by its contact's address only, may lose the SIP in between (the person withdraws the consent
for it at the night shift's ward): then it is told nothing of the SIP, as when the consent no longer covered
it at writing (scan_efforts) or as a reminder to a user or unit of it is skipped at sending."""

from __future__ import annotations

from datetime import date, datetime, time

from remkit import add_effort, established, reminder_mails, reminders, tick
from sqlmodel import select

from sipflow.cases.models import Participant, SipCase
from sipflow.clock import local_to_utc
from sipflow.consent.services import withdraw_for_organisation
from sipflow.db import unit_of_work
from sipflow.plans.models import PlanContact
from sipflow.plans.services import working_plan

CONTACT = "kontakt@vaxjo.example.se"


def _swedish(day: date, at: time) -> datetime:
    return local_to_utc(datetime.combine(day, at))


def test_an_effort_reminder_to_an_organisation_withdrawn_before_the_morning_is_not_mailed(
    app, engine, db_session, registry, parties, create_case
):
    case = established(db_session, registry, parties, create_case)
    municipality = parties.municipality.organisation_id
    with unit_of_work(db_session):
        for participant in db_session.exec(select(Participant).where(Participant.case_id == case.id)).all():
            participant.contact_user_id = None
            db_session.add(participant)
        plan = working_plan(db_session, case)
        db_session.add(
            PlanContact(plan_id=plan.id, organisation_id=municipality, name="Kontakt", email=CONTACT)
        )
    add_effort(db_session, case, municipality, date(2026, 11, 20), what="Boendestöd")
    tick(app, _swedish(date(2026, 11, 21), time(0, 1)))
    (reminder,) = reminders(engine, kind="effort_overdue")
    assert (reminder.status, reminder.recipient_address) == ("pending", CONTACT)

    with unit_of_work(db_session):
        withdraw_for_organisation(
            db_session,
            registry,
            case,
            parties.region_user,
            {"organisation_id": municipality, "reason": None},
            expected_version=db_session.get(SipCase, case.id).version,
            now=_swedish(date(2026, 11, 21), time(1, 0)),
        )
    tick(app, _swedish(date(2026, 11, 21), time(7, 1)))

    (row,) = reminders(engine, kind="effort_overdue")
    assert row.status == "skipped"
    assert CONTACT not in [m.recipient for m in reminder_mails(engine)]
