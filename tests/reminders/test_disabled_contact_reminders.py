"""A deadline's reminder to the huvudansvarig organisation's contact person whose account an administrator
has disabled (on leave) goes to the staff of their unit instead, as the meeting invitations go to the unit's
mailbox then: before, it was undeliverable and the follow-up deadline passed unheard until its escalation.
The disabled account gets nothing. So does the reminder of an organisation's effort past its end date, whose
contact person on the SIP left."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from remkit import add_effort, established, reminder_mails, reminders, tick

from sipflow.admin import users as admin_users
from sipflow.db import unit_of_work
from sipflow.people.models import User


def test_a_deadline_reminder_to_a_disabled_contact_person_reaches_their_units_staff(
    app, engine, db_session, registry, parties, create_case, make_user, now
):
    established(db_session, registry, parties, create_case)
    colleague = make_user(parties.region)
    (soon,) = [r for r in reminders(engine, status="pending", kind="deadline_soon") if r.topic == "follow_up"]
    assert soon.recipient_user_id == parties.region_user.id
    admin = make_user(None, roles="admin")
    with unit_of_work(db_session):
        admin_users.disable_user(db_session, admin, db_session.get(User, parties.region_user.id), now=now)

    tick(app, soon.due_at + timedelta(minutes=1))

    assert [m.recipient for m in reminder_mails(engine)] == [colleague.email]
    (row,) = [r for r in reminders(engine) if r.id == soon.id]
    assert (row.status, row.recipient_user_id, row.recipient_unit_id) == ("sent", None, parties.region.id)


def test_the_escalation_to_a_disabled_contact_person_and_to_their_unit_reaches_each_colleague_once(
    app, engine, db_session, registry, parties, create_case, make_user, now
):
    established(db_session, registry, parties, create_case)
    colleague = make_user(parties.region)
    escalated = [
        r for r in reminders(engine, status="pending", kind="deadline_escalated") if r.topic == "follow_up"
    ]
    assert {(r.recipient_user_id, r.recipient_unit_id) for r in escalated} == {
        (parties.region_user.id, None),
        (None, parties.region.id),
    }
    admin = make_user(None, roles="admin")
    with unit_of_work(db_session):
        admin_users.disable_user(db_session, admin, db_session.get(User, parties.region_user.id), now=now)

    tick(app, escalated[0].due_at + timedelta(minutes=1))

    rows = [r for r in reminders(engine) if r.id in {e.id for e in escalated}]
    mailed = [m.recipient for m in reminder_mails(engine) if m.reminder_id in {r.id for r in rows}]
    assert mailed == [colleague.email]
    assert parties.region_user.email not in [m.recipient for m in reminder_mails(engine)]


def test_an_overdue_effort_of_a_contact_person_who_left_reaches_their_units_staff(
    app, engine, db_session, registry, parties, create_case, make_user, now
):
    """The region's contact person on the SIP left (an administrator disabled the account) and a colleague
    took over the unit's work: the reminder of the organisation's effort past its end date reaches the unit's
    staff, as a deadline's does. Before, it was undeliverable and no one heard of the late effort."""
    case = established(db_session, registry, parties, create_case)
    colleague = make_user(parties.region)
    add_effort(db_session, case, parties.region.organisation_id, date(2026, 11, 20))
    admin = make_user(None, roles="admin")
    with unit_of_work(db_session):
        admin_users.disable_user(db_session, admin, db_session.get(User, parties.region_user.id), now=now)

    tick(app, datetime.fromisoformat("2026-11-23T08:00:00+00:00"))

    (reminder,) = reminders(engine, kind="effort_overdue")
    assert (reminder.status, reminder.recipient_user_id, reminder.recipient_unit_id) == (
        "sent",
        None,
        parties.region.id,
    )
    mailed = [m.recipient for m in reminder_mails(engine) if m.reminder_id == reminder.id]
    assert mailed == [colleague.email]
