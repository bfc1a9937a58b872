"""Försäkringskassan's office in Kalmar takes part in a SIP with one staff member who has an account; no one
is named contact person. Its effort in the plan passed its end date: just after midnight the reminder was
written to the staff of its unit. That morning, before seven, an administrator disabled the account (she
left). The case page and the administrators' list then said "Skickas inte" (tell the office some other
way), while at seven the reminder went to the office's shared mailbox, as its invitations do: the lists
say where it goes now, as dispatch does, and "Skickas inte" only when the office has no address either."""

from __future__ import annotations

import re
from datetime import datetime

from remkit import (
    effort_row,
    office_with_an_overdue_effort,
    reminder_mails,
    reminders,
    set_unit_mailbox,
    tick,
)
from webkit import login

from sipflow.admin import users as admin_users
from sipflow.clock import now_utc
from sipflow.db import unit_of_work
from sipflow.people.models import User

MAILBOX = "sip.kalmar@forsakringskassan.example.se"
_OFFICE = {"agency": "Försäkringskassan", "mailbox": MAILBOX, "what": "Avstämningsmöte"}


def _admin_status(client) -> str:
    """The administrators' list's status of the upcoming reminder to the office's staff."""
    page = client.get("/admin/reminders/").get_data(as_text=True)
    (status,) = re.findall(r"<td>[^<]*Försäkringskassan[^<]*</td>\s*<td>(Kommande[^<]*)</td>", page)
    return " ".join(status.split())


def test_a_reminder_to_a_units_staff_all_gone_is_upcoming_when_the_units_mailbox_gets_it(
    app, engine, client, db_session, registry, parties, create_case, make_unit, make_user
):
    office, handler, case = office_with_an_overdue_effort(
        db_session, registry, parties, create_case, make_unit, make_user, **_OFFICE
    )

    # Just after midnight the scan writes the reminder to the office's staff: she has an address.
    tick(app, datetime.fromisoformat("2026-11-22T23:30:00+00:00"))
    (reminder,) = reminders(engine, kind="effort_overdue")
    assert (reminder.recipient_unit_id, reminder.recipient_address) == (office.id, None)

    admin = make_user(None, roles="admin")
    with unit_of_work(db_session):
        admin_users.disable_user(db_session, admin, db_session.get(User, handler.id), now=now_utc())

    login(client, parties.region_user.username)
    row = effort_row(client, case)
    assert "Kommande" in row and "Skickas inte" not in row, row
    administrator = app.test_client()
    login(administrator, admin.username)
    assert _admin_status(administrator) == "Kommande"

    # Without a mailbox either, nothing reaches the office: then it is said.
    set_unit_mailbox(db_session, office.id, None)
    assert _admin_status(administrator) == "Kommande: skickas inte, mottagaren har ingen e-postadress"
    assert "Skickas inte" in effort_row(client, case)

    set_unit_mailbox(db_session, office.id, MAILBOX)
    tick(app, datetime.fromisoformat("2026-11-23T08:00:00+00:00"))
    (reminder,) = reminders(engine, kind="effort_overdue")
    assert (reminder.status, reminder.recipient_address) == ("sent", MAILBOX)
    assert [m.recipient for m in reminder_mails(engine) if m.reminder_id == reminder.id] == [MAILBOX]


def test_a_reminder_to_a_contact_person_disabled_since_is_upcoming_when_their_unit_gets_it(
    app, engine, client, db_session, registry, parties, create_case, make_unit, make_user
):
    """She was the office's contact person on the SIP, so the reminder named her. Disabled before seven,
    the reminder goes to her unit (its staff, else its mailbox: _past_a_disabled_account), not to no one."""
    office, handler, case = office_with_an_overdue_effort(
        db_session, registry, parties, create_case, make_unit, make_user, contact=True, **_OFFICE
    )
    tick(app, datetime.fromisoformat("2026-11-22T23:30:00+00:00"))
    (reminder,) = reminders(engine, kind="effort_overdue")
    assert reminder.recipient_user_id == handler.id

    admin = make_user(None, roles="admin")
    with unit_of_work(db_session):
        admin_users.disable_user(db_session, admin, db_session.get(User, handler.id), now=now_utc())
    login(client, parties.region_user.username)
    row = effort_row(client, case)
    assert "Kommande" in row and "Skickas inte" not in row, row

    # Without her unit's mailbox either, nothing reaches it: then it is said.
    set_unit_mailbox(db_session, office.id, None)
    assert "Skickas inte" in effort_row(client, case)

    set_unit_mailbox(db_session, office.id, MAILBOX)
    tick(app, datetime.fromisoformat("2026-11-23T08:00:00+00:00"))
    (reminder,) = reminders(engine, kind="effort_overdue")
    assert (reminder.status, reminder.recipient_address) == ("sent", MAILBOX)
