"""A workflow file's reminder to a unit naming no contact person goes where the unit's invitations go, its
mailbox when it falls due (dispatch asks the address again). The case page and the administrators' list said
where it went when it was written: after an administrator gave the unit a mailbox they still said nobody gets
it (name a contact person), though it went to the mailbox; after the unit was deactivated they still said it
goes to the unit's address, though nobody got it. They say where it goes now."""

from __future__ import annotations

from remkit import established, reminders, save_unit_mailbox
from test_no_contact_person import _declaring_to_participants, _reminders_section
from test_unit_mailbox_reminder import MAILBOX, _declared_to_the_mailbox, _dispatch
from webkit import login

from sipflow.admin import directory
from sipflow.cases.models import SipCase
from sipflow.clock import add_days, now_utc
from sipflow.db import unit_of_work
from sipflow.people.labels import unit_label
from sipflow.people.models import Organisation, Unit
from sipflow.reminders.services import DECLARED, reconcile_case

NOBODY = "har varken kontaktperson eller e-postadress i SIP:en, så ingen får påminnelsen."


def _named(db_session, unit_id: int) -> str:
    unit = db_session.get(Unit, unit_id)
    return unit_label(db_session.get(Organisation, unit.organisation_id).name, unit.name)


def test_a_mailbox_given_since_is_where_the_case_page_says_the_reminder_goes(
    app, engine, client, db_session, registry, parties, create_case
):
    case = established(db_session, registry, parties, create_case)
    workflow = _declaring_to_participants()
    with unit_of_work(db_session):
        reconcile_case(
            db_session, workflow, db_session.get(SipCase, case.id), now=now_utc(), families={DECLARED}
        )
    named = _named(db_session, parties.municipality.id)
    login(client, parties.region_user.username)
    assert f"{named} {NOBODY}" in _reminders_section(client, case)

    save_unit_mailbox(db_session, parties.municipality.id, MAILBOX)
    section = _reminders_section(client, case)
    assert NOBODY not in section
    assert f"Mottagare: {named} (enhetens e-postadress i SIP:en)" in section

    at = add_days(db_session.get(SipCase, case.id).follow_up_on, -14)
    _dispatch(app, engine, workflow, at.replace(hour=at.hour + 1))
    (sent,) = reminders(engine, kind="workflow", recipient_unit_id=parties.municipality.id)
    assert (sent.status, sent.recipient_address) == ("sent", MAILBOX)


def test_a_unit_deactivated_since_is_said_to_get_nothing(
    app, engine, client, db_session, registry, parties, create_case
):
    workflow, to_unit, at = _declared_to_the_mailbox(db_session, registry, parties, create_case)
    case = db_session.get(SipCase, to_unit.case_id)
    named = _named(db_session, parties.municipality.id)
    login(client, parties.region_user.username)
    assert f"Mottagare: {named} (enhetens e-postadress i SIP:en)" in _reminders_section(client, case)

    with unit_of_work(db_session):
        unit = db_session.get(Unit, parties.municipality.id)
        directory.set_unit_active(db_session, None, unit, False, now=now_utc())
    section = _reminders_section(client, case)
    assert f"{named} {NOBODY}" in section
    assert "(enhetens e-postadress i SIP:en)" not in section

    _dispatch(app, engine, workflow, at)
    (skipped,) = reminders(engine, id=to_unit.id)
    assert (skipped.status, skipped.skip_reason) == ("skipped", "no_contact")
