"""Helpers for the reminder tests: reading the reminder rows and running a tick."""

from __future__ import annotations

import re
import tomllib
from datetime import date, datetime, time, timedelta
from pathlib import Path

import support
from sqlmodel import Session, select

from sipflow.admin import directory
from sipflow.cases.models import Participant
from sipflow.cases.scripted import fire_scripted, scripted_input
from sipflow.clock import frozen, local_to_utc, now_utc
from sipflow.consent.services import record_further_consent
from sipflow.db import unit_of_work
from sipflow.notifications.models import OutboxMessage
from sipflow.people.models import Unit
from sipflow.plans.models import PlanEffort
from sipflow.plans.services import working_plan
from sipflow.reminders.models import Reminder
from sipflow.reminders.services import dispatch_tick
from sipflow.workflow.definition import Workflow, parse_workflow

SIP_FILE = Path(__file__).resolve().parents[2] / "workflows" / "sip.toml"
PREPARE_FOLLOW_UP = {"sv": "Förbered uppföljningen", "en": "Prepare the follow-up"}
# The reminder a county declares 14 days ahead of the consent's end, to the initiator.
RENEW_CONSENT = {
    "name": "renew_consent",
    "label": {"sv": "Samtycket går snart ut", "en": "The consent runs out soon"},
    "anchor": "consent_ends",
    "offset_days": -14,
    "recipients": ["initiator"],
    "template": "case_reminder",
}


def morning_of(day: date) -> datetime:
    """07:00 Swedish time on day (REMINDER_MORNING_HOUR), in UTC: when a reminder about day goes."""
    return local_to_utc(datetime.combine(day, time(7)))


def sip_declaring(
    name: str, anchor: str, *, offset_days: int, recipients: list[str], label: dict = PREPARE_FOLLOW_UP
) -> Workflow:
    """The shipped sip workflow with one reminder of its own declared (template case_reminder), parsed as
    the start parses a file."""
    with SIP_FILE.open("rb") as handle:
        data = tomllib.load(handle)
    data["reminders"] = [
        {
            "name": name,
            "label": label,
            "anchor": anchor,
            "offset_days": offset_days,
            "recipients": recipients,
            "template": "case_reminder",
        }
    ]
    return parse_workflow(SIP_FILE, data)


def reminders(engine, **where) -> list[Reminder]:
    """Every reminder row matching where (column = value), oldest first."""
    with Session(engine) as session:
        query = select(Reminder).order_by(Reminder.due_at, Reminder.id)
        for column, value in where.items():
            query = query.where(getattr(Reminder, column) == value)
        return list(session.exec(query).all())


def reminder_mails(engine) -> list[OutboxMessage]:
    """The outbox rows reminders wrote, in the order they were written (PostgreSQL returns an unordered
    query's rows in whatever order its heap holds them: an updated row may come last)."""
    with Session(engine) as session:
        query = select(OutboxMessage).where(OutboxMessage.kind == "reminder").order_by(OutboxMessage.id)
        return list(session.exec(query).all())


def tick(app, at: datetime):
    """One dispatcher tick at the instant at (the clock frozen there, as `scheduler --once --now` does)."""
    with app.app_context(), frozen(at):
        return dispatch_tick(app, now=at)


UNTIL_PLAN = support.SIP_HAPPY_PATH[: support.SIP_HAPPY_PATH.index("establish_plan") + 1]


def walk(db_session, registry, actor, case, triggers, *, first_minute: int = 1) -> None:
    """Fire triggers on case one minute apart, the first at support.FIXED_NOW + first_minute minutes."""
    for minute, trigger in enumerate(triggers, start=first_minute):
        support.fire(
            db_session, registry, actor, case, trigger, now=support.FIXED_NOW + timedelta(minutes=minute)
        )


def establish_with(db_session, registry, actor, case, also=None) -> None:
    """Walk case to establish_plan, then establish it and also(at) after it, in one transaction.

    The plan form's scripted data gives huvudansvar to the region in that same transaction.
    """
    walk(db_session, registry, actor, case, UNTIL_PLAN[:-1])
    at = support.FIXED_NOW + timedelta(hours=1)
    form = (
        registry.get(case.workflow_name, case.workflow_version).transition(case.state, "establish_plan").form
    )
    with unit_of_work(db_session):
        data = scripted_input(db_session, case, form, at)
        fire_scripted(db_session, registry, actor, case, "establish_plan", now=at, data=data)
        if also is not None:
            also(at)


def established(db_session, registry, parties, create_case):
    """A sip case with its plan established: the region has huvudansvar, follow-up in 90 days.

    The meeting's decisions became efforts of the plan (issue 10); they are done, so that only what a test
    adds can be overdue.
    """
    case = create_case("sip")
    walk(db_session, registry, parties.region_user, case, UNTIL_PLAN)
    with unit_of_work(db_session):
        for effort in db_session.exec(select(PlanEffort)).all():
            effort.status = "done"
    return case


def add_effort(
    session: Session, case, organisation_id: int, ends_on: date, what: str = "Boendestöd"
) -> PlanEffort:
    """An effort of the case's plan owned by organisation_id, ending on ends_on (its own unit of work)."""
    with unit_of_work(session):
        effort = PlanEffort(
            plan_id=working_plan(session, case).id,
            what=what,
            organisation_id=organisation_id,
            ends_on=ends_on,
        )
        session.add(effort)
    return effort


def further_consent(session, registry, actor, case, *, at: datetime, **fields) -> None:
    """actor records a further consent on case at at: the scripted consent's form with fields over it (the
    organisations, the guardians, the last day)."""
    data = scripted_input(session, case, "consent", at) | fields
    with unit_of_work(session):
        session.refresh(case)
        record_further_consent(session, registry, case, actor, data, expected_version=case.version, now=at)


def set_unit_mailbox(db_session, unit_id: int, address: str | None) -> None:
    """Give a unit a shared mailbox (None: take it away), committed."""
    with unit_of_work(db_session):
        unit = db_session.get(Unit, unit_id)
        unit.email = address
        db_session.add(unit)


def save_unit_mailbox(session, unit_id: int, mailbox: str | None) -> None:
    """An administrator saves the unit's form with mailbox as its e-mail address (None: none), committed."""
    with unit_of_work(session):
        unit = session.get(Unit, unit_id)
        directory.edit_unit(
            session, None, unit, name=unit.name, kind=unit.kind, is_health_care=unit.is_health_care,
            email=mailbox, hsa_id=unit.hsa_id, now=now_utc(),
        )  # fmt: skip


def office_with_an_overdue_effort(
    db_session,
    registry,
    parties,
    create_case,
    make_unit,
    make_user,
    *,
    agency: str,
    mailbox: str,
    what: str,
    staff: bool = True,
    contact: bool = False,
):
    """An agency's Kalmar office with a shared mailbox (and one staff member, staff; their office's contact
    person on the SIP, contact) on a SIP whose plan is established, every effort done but the office's
    own, what, ended 20 November; (office, the staff member or None, the SIP)."""
    office = make_unit("other", agency, county_code=None, unit_name="Kalmar")
    handler = make_user(office) if staff else None
    set_unit_mailbox(db_session, office.id, mailbox)
    case = create_case("sip", units=[parties.municipality.id, office.id])
    if contact:
        with unit_of_work(db_session):
            for participant in db_session.exec(
                select(Participant).where(Participant.case_id == case.id, Participant.unit_id == office.id)
            ).all():
                participant.contact_user_id = handler.id
    walk(db_session, registry, parties.region_user, case, UNTIL_PLAN)
    with unit_of_work(db_session):
        for effort in db_session.exec(select(PlanEffort)).all():
            effort.status = "done"
    add_effort(db_session, case, office.organisation_id, date(2026, 11, 20), what=what)
    return office, handler, case


def effort_row(client, case) -> str:
    """The case page's reminder row of the overdue effort, its tags as text."""
    page = client.get(f"/cases/{case.uid}").get_data(as_text=True)
    section = page[page.index('id="h-reminders"') : page.index("</section>", page.index('id="h-reminders"'))]
    row = re.search(r"Insats efter slutdatum.*?</li>", section, re.S).group(0)
    return " ".join(re.sub(r"<[^>]+>", " ", row).split())
