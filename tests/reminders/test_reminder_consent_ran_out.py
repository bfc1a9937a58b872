"""A deadline's reminder to an organisation the consent no longer covers goes to who started the SIP instead
(tester: after the consent was withdrawn for the huvudansvarig organisation it kept getting deadline
reminders; skipping them left a deadline unheard). Other reminders to such an organisation are skipped with
their reason (tests/reminders/test_unit_address_reminders.py).

The same access rule that keeps an overdue effort's reminder from such an organisation (scan_efforts)
decides at sending for every reminder to a user, a unit or a unit's address: security.access.
"""

from __future__ import annotations

from datetime import date, timedelta

import support
from remkit import established, reminder_mails, reminders, tick
from sqlmodel import select

from sipflow.consent.models import Consent, ConsentOrganisation
from sipflow.db import unit_of_work
from sipflow.plans.responsibility import give_huvudansvar


def test_a_deadline_reminder_to_an_organisation_whose_consent_ran_out_goes_to_who_started_the_sip(
    app, engine, db_session, registry, parties, create_case
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
    # The row names who it went to: the starter, of the initiating organisation, which sees the SIP.
    assert (row.status, row.recipient_user_id, row.recipient_unit_id) == (
        "sent",
        case.created_by_user_id,
        None,
    )
    mailed = [m.recipient for m in reminder_mails(engine)]
    assert parties.municipality_user.email not in mailed
    assert parties.region_user.id == case.created_by_user_id and parties.region_user.email in mailed
