"""Arbetsförmedlingen's office takes part in a SIP the region started, as a national agency's office
usually does: no one of it has an account in sipflow and no one is named contact person, so it is reached
at its unit's shared mailbox (its invitations and "Möte i morgon" go there). Its effort in the plan passed
its end date: the reminder was written to the staff of its unit, found none, and ended undeliverable (the
case page said "Skickas inte"), so the agency never heard of it. It goes to the unit's address on the SIP,
as its invitations do."""

from __future__ import annotations

import email
import email.policy
import re
from datetime import date, datetime

from remkit import UNTIL_PLAN, add_effort, reminder_mails, reminders, tick, walk
from sqlmodel import select
from webkit import login

from sipflow.admin import users as admin_users
from sipflow.cases.models import Participant
from sipflow.clock import now_utc
from sipflow.db import unit_of_work
from sipflow.people.models import User
from sipflow.plans.models import PlanEffort

MAILBOX = "sip.kalmar@arbetsformedlingen.example.se"


def _effort_row(client, case) -> str:
    """The case page's reminder row of the overdue effort, its tags as text."""
    page = client.get(f"/cases/{case.uid}").get_data(as_text=True)
    section = page[page.index('id="h-reminders"') : page.index("</section>", page.index('id="h-reminders"'))]
    row = re.search(r"Insats efter slutdatum.*?</li>", section, re.S).group(0)
    return " ".join(re.sub(r"<[^>]+>", " ", row).split())


def test_an_overdue_effort_of_an_agency_office_without_staff_accounts_reaches_its_mailbox(
    app, engine, client, db_session, registry, parties, create_case, make_unit
):
    office = make_unit("other", "Arbetsförmedlingen", county_code=None, unit_name="Kalmar")
    with unit_of_work(db_session):
        office.email = MAILBOX
        db_session.add(office)
    case = create_case("sip", units=[parties.municipality.id, office.id])
    walk(db_session, registry, parties.region_user, case, UNTIL_PLAN)
    with unit_of_work(db_session):
        for effort in db_session.exec(select(PlanEffort)).all():
            effort.status = "done"
    add_effort(db_session, case, office.organisation_id, date(2026, 11, 20), what="Arbetsträning")

    # Just after midnight the scan writes the reminder, due at seven: the case page says where it goes.
    tick(app, datetime.fromisoformat("2026-11-22T23:30:00+00:00"))
    login(client, parties.region_user.username)
    row = _effort_row(client, case)
    assert "Mottagare: Arbetsförmedlingen, Kalmar (enhetens e-postadress i SIP:en)" in row
    assert "Kommande" in row and "Skickas inte" not in row

    tick(app, datetime.fromisoformat("2026-11-23T08:00:00+00:00"))

    (reminder,) = reminders(engine, kind="effort_overdue")
    assert reminder.status == "sent"
    (mail,) = [m for m in reminder_mails(engine) if m.reminder_id == reminder.id]
    assert mail.recipient == MAILBOX
    body = email.message_from_string(mail.message, policy=email.policy.default)
    text = " ".join(body.get_body(preferencelist=("plain",)).get_content().split())
    # A shared mailbox is no account that may open the case page; the agency only reads the plan.
    assert f"/cases/{case.uid}" not in text
    assert "skriver planen" in text


def test_an_overdue_effort_whose_agency_contact_left_reaches_the_offices_mailbox(
    app, engine, db_session, registry, parties, create_case, make_unit, make_user
):
    """Försäkringskassan's one staff member with an account was its contact person on the SIP; she left and
    an administrator disabled her account. The reminder of its effort past its end date, passed from her to
    her unit's staff, found none and ended undeliverable, while the office's invitations go to its shared
    mailbox: it goes there too."""
    office = make_unit("other", "Försäkringskassan", county_code=None, unit_name="Kalmar")
    contact = make_user(office)
    with unit_of_work(db_session):
        office.email = MAILBOX
        db_session.add(office)
    case = create_case("sip", units=[parties.municipality.id, office.id])
    with unit_of_work(db_session):
        for participant in db_session.exec(
            select(Participant).where(Participant.case_id == case.id, Participant.unit_id == office.id)
        ).all():
            participant.contact_user_id = contact.id
    walk(db_session, registry, parties.region_user, case, UNTIL_PLAN)
    with unit_of_work(db_session):
        for effort in db_session.exec(select(PlanEffort)).all():
            effort.status = "done"
    add_effort(db_session, case, office.organisation_id, date(2026, 11, 20), what="Avstämningsmöte")
    admin = make_user(None, roles="admin")
    with unit_of_work(db_session):
        admin_users.disable_user(db_session, admin, db_session.get(User, contact.id), now=now_utc())

    tick(app, datetime.fromisoformat("2026-11-23T08:00:00+00:00"))

    (reminder,) = reminders(engine, kind="effort_overdue")
    assert (reminder.status, reminder.recipient_address) == ("sent", MAILBOX)
    assert [m.recipient for m in reminder_mails(engine) if m.reminder_id == reminder.id] == [MAILBOX]
