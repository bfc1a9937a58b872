"""Arbetsförmedlingen's office takes part in a SIP the region started, as a national agency's office
usually does: no one of it has an account in sipflow and no one is named contact person, so it is reached
at its unit's shared mailbox (its invitations and "Möte i morgon" go there). Its effort in the plan passed
its end date: the reminder was written to the staff of its unit, found none, and ended undeliverable (the
case page said "Skickas inte"), so the agency never heard of it. It goes to the unit's address on the SIP,
as its invitations do."""

from __future__ import annotations

import email
import email.policy
from datetime import datetime

from remkit import effort_row, office_with_an_overdue_effort, reminder_mails, reminders, tick
from webkit import login

from sipflow.admin import users as admin_users
from sipflow.clock import now_utc
from sipflow.db import unit_of_work
from sipflow.people.models import User

MAILBOX = "sip.kalmar@arbetsformedlingen.example.se"
_OFFICE = {"agency": "Arbetsförmedlingen", "mailbox": MAILBOX}


def test_an_overdue_effort_of_an_agency_office_without_staff_accounts_reaches_its_mailbox(
    app, engine, client, db_session, registry, parties, create_case, make_unit
):
    office, _, case = office_with_an_overdue_effort(
        db_session,
        registry,
        parties,
        create_case,
        make_unit,
        None,
        staff=False,
        what="Arbetsträning",
        **_OFFICE,
    )

    # Just after midnight the scan writes the reminder, due at seven: the case page says where it goes.
    tick(app, datetime.fromisoformat("2026-11-22T23:30:00+00:00"))
    login(client, parties.region_user.username)
    row = effort_row(client, case)
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
    office, contact, case = office_with_an_overdue_effort(
        db_session,
        registry,
        parties,
        create_case,
        make_unit,
        make_user,
        contact=True,
        agency="Försäkringskassan",
        mailbox=MAILBOX,
        what="Avstämningsmöte",
    )
    admin = make_user(None, roles="admin")
    with unit_of_work(db_session):
        admin_users.disable_user(db_session, admin, db_session.get(User, contact.id), now=now_utc())

    tick(app, datetime.fromisoformat("2026-11-23T08:00:00+00:00"))

    (reminder,) = reminders(engine, kind="effort_overdue")
    assert (reminder.status, reminder.recipient_address) == ("sent", MAILBOX)
    assert [m.recipient for m in reminder_mails(engine) if m.reminder_id == reminder.id] == [MAILBOX]
