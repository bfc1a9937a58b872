"""A deadline's reminder meant for who started the SIP (no organisation holds huvudansvar yet) does not go to
a starter an administrator has moved to another organisation's unit: they no longer see the SIP. It goes to
the staff of the initiating organisation's unit on the case, so the deadline is not left unheard (an
administrator's first month: a coordinator moved from the region to Försäkringskassan kept getting the
region's deadline reminders)."""

from __future__ import annotations

from datetime import timedelta

from remkit import reminder_mails, reminders, tick
from support import move_user

from sipflow.people.models import User


def test_a_starter_moved_to_another_organisation_gets_no_deadline_reminder_their_old_unit_does(
    app, engine, db_session, registry, parties, create_case, make_user, now
):
    case = create_case()
    colleague = make_user(parties.region)
    missed = [r for r in reminders(engine, status="pending") if r.kind == "deadline_missed"]
    assert [r.recipient_user_id for r in missed] == [case.created_by_user_id]
    admin = make_user(None, roles="admin")
    starter = db_session.get(User, case.created_by_user_id)
    move_user(db_session, registry, admin, starter, parties.outsider.id, now)

    tick(app, missed[0].due_at + timedelta(minutes=1))

    mailed = [m.recipient for m in reminder_mails(engine)]
    assert parties.region_user.email not in mailed
    assert colleague.email in mailed
    (row,) = [r for r in reminders(engine) if r.id == missed[0].id]
    assert (row.status, row.recipient_user_id, row.recipient_unit_id) == ("sent", None, parties.region.id)
