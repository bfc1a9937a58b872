"""A workflow file's reminder to a unit taking part goes to its contact person; a unit naming none is reached
at its e-mail address on the SIP (as its invitations are), and only a unit with neither is skipped
(no_contact). A contact person or an address given after the skip gets the reminder after all, late.

The app's workflows declare no reminder: the sip file is given one to the participants for these tests, in
the app's own registry, so the reconciliation every change of participants runs is the one tested.
"""

from __future__ import annotations

import html as htmllib
from datetime import timedelta
from pathlib import Path

from remkit import reminder_mails, reminders
from sqlmodel import Session, select
from webkit import login

from sipflow.cases import services as case_services
from sipflow.cases.models import Participant
from sipflow.clock import add_days, frozen, now_utc, to_local
from sipflow.consent.models import Consent, ConsentOrganisation
from sipflow.db import unit_of_work
from sipflow.people.labels import unit_label
from sipflow.people.models import Organisation, Unit
from sipflow.reminders.services import dispatch_due

WORKFLOWS = Path(__file__).resolve().parents[2] / "workflows"
UNIT_ADDRESS = "vaxjo.hemtjanst@example.se"


def _due(case):
    return add_days(case.follow_up_on, -14) + timedelta(hours=1)


def _dispatch(app, engine, registry, at):
    with app.app_context(), frozen(at), Session(engine) as session:
        with unit_of_work(session):
            dispatch_due(session, registry, now=at)


def _municipality(db_session, parties, case) -> Participant:
    db_session.expire_all()
    return db_session.exec(
        select(Participant).where(
            Participant.case_id == case.id, Participant.unit_id == parties.municipality.id
        )
    ).one()


def _unit_row(engine, parties):
    (row,) = [r for r in reminders(engine, kind="workflow") if r.recipient_unit_id == parties.municipality.id]
    return row


def _set_address(db_session, registry, parties, case, address, *, now):
    db_session.refresh(case)
    participant = _municipality(db_session, parties, case)
    with unit_of_work(db_session):
        case_services.set_participant_contact(
            db_session, registry, case, participant.id, email=address, phone=None, now=now
        )


def test_a_reminder_skipped_for_want_of_a_contact_person_goes_to_the_one_named_after(
    app, engine, db_session, registry, parties, declaring
):
    case, at = declaring, _due(declaring)
    _dispatch(app, engine, registry, at)
    skipped = _unit_row(engine, parties)
    assert (skipped.status, skipped.skip_reason) == ("skipped", "no_contact")
    mailed = [m.recipient for m in reminder_mails(engine)]
    assert mailed == [parties.region_user.email]

    # The municipality's staff member makes herself the unit's contact person on the SIP.
    db_session.refresh(case)
    with frozen(at), unit_of_work(db_session):
        case_services.set_contact_person(
            db_session,
            registry,
            case,
            parties.municipality_user,
            _municipality(db_session, parties, case).id,
            parties.municipality_user.id,
            now=at,
        )
    (named,) = reminders(engine, kind="workflow", recipient_user_id=parties.municipality_user.id)
    assert named.status == "pending" and named.topic == "prepare_follow_up"
    _dispatch(app, engine, registry, at + timedelta(minutes=5))
    assert [m.recipient for m in reminder_mails(engine)] == [*mailed, parties.municipality_user.email]
    assert reminders(engine, id=named.id)[0].status == "sent"


def test_a_unit_without_a_contact_person_gets_the_reminder_at_its_address_on_the_sip(
    app, engine, client, db_session, registry, parties, declaring
):
    case, at = declaring, _due(declaring)
    _set_address(db_session, registry, parties, case, UNIT_ADDRESS, now=now_utc())
    row = _unit_row(engine, parties)
    assert (row.status, row.recipient_address) == ("pending", UNIT_ADDRESS)
    unit = db_session.get(Unit, parties.municipality.id)
    named = unit_label(db_session.get(Organisation, unit.organisation_id).name, unit.name)
    login(client, parties.region_user.username)
    page = client.get(f"/cases/{case.uid}").get_data(as_text=True)
    assert f"Mottagare: {named} (enhetens e-postadress i SIP:en)." in page
    assert "varken kontaktperson eller e-postadress" not in page

    _dispatch(app, engine, registry, at)
    assert reminders(engine, id=row.id)[0].status == "sent"
    assert sorted(m.recipient for m in reminder_mails(engine)) == sorted(
        [parties.region_user.email, UNIT_ADDRESS]
    )


def test_a_corrected_unit_address_takes_the_reminder_still_to_come(
    app, engine, db_session, registry, parties, declaring
):
    case, at = declaring, _due(declaring)
    _set_address(db_session, registry, parties, case, UNIT_ADDRESS, now=now_utc())
    _set_address(db_session, registry, parties, case, "vaxjo.ny@example.se", now=now_utc())
    assert _unit_row(engine, parties).recipient_address == "vaxjo.ny@example.se"
    _dispatch(app, engine, registry, at)
    recipients = {m.recipient for m in reminder_mails(engine)}
    assert "vaxjo.ny@example.se" in recipients and UNIT_ADDRESS not in recipients


def test_a_reminder_skipped_for_want_of_anyone_goes_to_the_address_given_after(
    app, engine, db_session, registry, parties, declaring
):
    case, at = declaring, _due(declaring)
    _dispatch(app, engine, registry, at)
    assert _unit_row(engine, parties).skip_reason == "no_contact"
    with frozen(at):
        _set_address(db_session, registry, parties, case, UNIT_ADDRESS, now=at)
    row = _unit_row(engine, parties)
    assert (row.status, row.skip_reason, row.recipient_address) == ("pending", None, UNIT_ADDRESS)
    _dispatch(app, engine, registry, at + timedelta(minutes=5))
    assert UNIT_ADDRESS in [m.recipient for m in reminder_mails(engine)]
    assert reminders(engine, id=row.id)[0].status == "sent"


def test_a_workflow_reminder_to_a_unit_the_consent_no_longer_covers_is_skipped_with_its_reason(
    app, engine, client, db_session, registry, parties, declaring, make_user
):
    case, at = declaring, _due(declaring)
    _set_address(db_session, registry, parties, case, UNIT_ADDRESS, now=now_utc())
    # The consent naming Växjö kommun ran out before the reminder is due; a further one names the region.
    with unit_of_work(db_session):
        for consent in db_session.exec(select(Consent).where(Consent.case_id == case.id)).all():
            consent.valid_until = to_local(now_utc()).date() + timedelta(days=1)
        further = Consent(
            case_id=case.id,
            decision="given",
            given_by="person",
            form="oral",
            recorded_at=now_utc(),
            recorded_by_user_id=parties.region_user.id,
        )
        db_session.add(further)
        db_session.flush()
        db_session.add(
            ConsentOrganisation(consent_id=further.id, organisation_id=parties.region.organisation_id)
        )
    assert to_local(at).date() > to_local(now_utc()).date() + timedelta(days=1)
    _dispatch(app, engine, registry, at)
    row = _unit_row(engine, parties)
    assert (row.status, row.skip_reason) == ("skipped", "not_covered")
    assert UNIT_ADDRESS not in [m.recipient for m in reminder_mails(engine)]
    # The administration's list says why.
    admin = make_user(parties.region, roles="admin")
    login(client, admin.username)
    page = htmllib.unescape(
        client.get("/admin/reminders/", query_string={"status": "skipped"}).get_data(True)
    )
    assert "mottagarens organisation ser inte längre SIP:en: samtycket omfattar den inte (längre)" in page
