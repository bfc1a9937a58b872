"""A reminder to an organisation the consent no longer covers is skipped, with its reason (tester: after the
consent was withdrawn for the huvudansvarig organisation it kept getting deadline reminders).

The same access rule that keeps an overdue effort's reminder from such an organisation (scan_efforts)
decides at sending for every reminder to a user, a unit or a unit's address: security.access.
"""

from __future__ import annotations

import html as htmllib
from datetime import date, timedelta

import support
from remkit import established, reminder_mails, reminders, tick
from sqlmodel import select
from webkit import login

from sipflow.consent.models import Consent, ConsentOrganisation
from sipflow.db import unit_of_work
from sipflow.plans.responsibility import give_huvudansvar


def test_a_deadline_reminder_to_an_organisation_whose_consent_ran_out_is_skipped_with_its_reason(
    app, client, engine, db_session, registry, parties, create_case, make_user
):
    case = established(db_session, registry, parties, create_case)
    with unit_of_work(db_session):
        give_huvudansvar(
            db_session,
            case,
            parties.region_user,
            organisation_id=parties.municipality.organisation_id,
            reason="Kommunen leder planeringen",
            expected_version=case.version,
            now=support.FIXED_NOW + timedelta(hours=2),
        )
    (soon,) = [r for r in reminders(engine, status="pending", kind="deadline_soon") if r.topic == "follow_up"]
    assert soon.recipient_unit_id == parties.municipality.id
    # The consent naming Växjö kommun ran out before the reminder is due; a further one names the region.
    with unit_of_work(db_session):
        for consent in db_session.exec(select(Consent).where(Consent.case_id == case.id)).all():
            consent.valid_until = date(2026, 11, 21)
        further = Consent(
            case_id=case.id,
            decision="given",
            given_by="person",
            form="oral",
            recorded_at=support.FIXED_NOW,
            recorded_by_user_id=parties.region_user.id,
        )
        db_session.add(further)
        db_session.flush()
        db_session.add(
            ConsentOrganisation(consent_id=further.id, organisation_id=parties.region.organisation_id)
        )
    assert soon.due_at.date() > date(2026, 11, 21)
    tick(app, soon.due_at + timedelta(minutes=1))
    (row,) = [r for r in reminders(engine, kind="deadline_soon") if r.id == soon.id]
    assert (row.status, row.skip_reason) == ("skipped", "not_covered")
    assert parties.municipality_user.email not in [m.recipient for m in reminder_mails(engine)]
    # The administration's list says why.
    admin = make_user(parties.region, roles="admin")
    login(client, admin.username)
    page = htmllib.unescape(
        client.get("/admin/reminders/", query_string={"status": "skipped"}).get_data(True)
    )
    assert "mottagarens organisation ser inte längre SIP:en: samtycket omfattar den inte (längre)" in page
