"""A reminder a workflow file addresses to a party whose unit names no contact person on the case is not
silently dropped: it is written for the unit and skipped with its reason, shown on the case page and on
the administration's list."""

from __future__ import annotations

import logging
from datetime import timedelta

from remkit import established, reminder_mails, reminders, sip_declaring
from sqlmodel import Session
from webkit import login

from sipflow.cases.models import SipCase
from sipflow.clock import add_days, frozen, now_utc
from sipflow.db import unit_of_work
from sipflow.people.labels import unit_label
from sipflow.people.models import Organisation, Unit
from sipflow.reminders.services import DECLARED, dispatch_due, reconcile_case


class _Registry:
    """A registry of one workflow: the sip file with the reminder the test declares."""

    def __init__(self, workflow):
        self.workflow = workflow

    def get(self, name, version):
        return self.workflow


def _declaring_to_participants():
    return sip_declaring("prepare_follow_up", "follow_up_on", offset_days=-14, recipients=["participant"])


def _reminders_section(client, case) -> str:
    page = client.get(f"/cases/{case.uid}").get_data(as_text=True)
    section = page[page.index('id="h-reminders"') :]
    return section[: section.index("</section>")]


def test_a_reminder_to_a_unit_without_a_contact_person_is_skipped_saying_so_on_both_pages(
    app, engine, client, caplog, db_session, registry, parties, create_case, make_user
):
    case = established(db_session, registry, parties, create_case)
    workflow = _declaring_to_participants()
    with unit_of_work(db_session):
        reconcile_case(
            db_session, workflow, db_session.get(SipCase, case.id), now=now_utc(), families={DECLARED}
        )
    # The region names its contact person (who started the SIP); the municipality's unit names none.
    by_recipient = {(r.recipient_user_id, r.recipient_unit_id): r for r in reminders(engine, kind="workflow")}
    assert set(by_recipient) == {(parties.region_user.id, None), (None, parties.municipality.id)}
    unit = db_session.get(Unit, parties.municipality.id)
    named = unit_label(db_session.get(Organisation, unit.organisation_id).name, unit.name)
    login(client, parties.region_user.username)
    ahead = _reminders_section(client, case)
    assert f"Mottagare: Kontaktpersonen för {named}." in ahead
    assert f"{named} har varken kontaktperson eller e-postadress i SIP:en, så ingen får påminnelsen." in ahead
    assert "Utse en kontaktperson för enheten under Deltagare" in ahead

    at = add_days(case.follow_up_on, -14) + timedelta(hours=1)
    with caplog.at_level(logging.DEBUG), app.app_context(), frozen(at), Session(engine) as session:
        with unit_of_work(session):
            dispatch_due(session, _Registry(workflow), now=at)
    skipped = reminders(engine, id=by_recipient[(None, parties.municipality.id)].id)[0]
    assert (skipped.status, skipped.skip_reason) == ("skipped", "no_contact")
    assert reminders(engine, id=by_recipient[(parties.region_user.id, None)].id)[0].status == "sent"
    assert [m.recipient for m in reminder_mails(engine)] == [parties.region_user.email]
    assert not [r for r in caplog.records if unit.name in r.getMessage()]

    after = _reminders_section(client, case)
    assert "Hoppades över" in after
    assert f"{named} har varken kontaktperson eller e-postadress i SIP:en, så ingen får påminnelsen." in after
    admin, other = make_user(parties.region, roles="admin"), app.test_client()
    login(other, admin.username)
    listing = other.get("/admin/reminders/?status=skipped").get_data(as_text=True)
    assert (
        f"Hoppades över: {named} har varken kontaktperson eller e-postadress i SIP:en: enhetens personal kan"
        " utse en kontaktperson på SIP:ens sida"
    ) in listing
    assert f"Kontaktpersonen för {named}" in listing
