"""A unit invited at its shared mailbox (no address of its own on the SIP, no active contact person) gets its
"Möte i morgon" reminder there too, and the case page lists that reminder as upcoming, not "Skickas inte";
a unit with neither mailbox nor contact person still gets a reminder nobody can receive, said so. A workflow
file's reminder to a unit naming no contact person goes to the mailbox as its invitations do: the mailbox the
unit has when the reminder falls due (an administrator may have changed it since), none once deactivated."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from remkit import established, reminder_mails, reminders, save_unit_mailbox, tick
from sqlmodel import Session, select
from test_invitee_names import _section, _unit_label
from test_no_contact_person import _declaring_to_participants, _Registry
from test_reminder_without_address import _rows, flat
from webkit import login

from sipflow.admin import directory
from sipflow.admin import users as admin_users
from sipflow.cases.models import Participant, SipCase
from sipflow.clock import add_days, frozen, now_utc
from sipflow.db import unit_of_work
from sipflow.meetings.models import Invitation
from sipflow.notifications.models import OutboxMessage
from sipflow.people.models import Unit, User
from sipflow.reminders.services import DECLARED, dispatch_due, reconcile_case

MAILBOX = "sip.vaxjo@vaxjo.example.se"
NEW_MAILBOX = "samordning.vaxjo@vaxjo.example.se"
# book() puts the meeting on Monday 9 November 2026, 10:00 Swedish time; five minutes after its
# "meeting tomorrow" reminders fall due.
TICK = datetime(2026, 11, 9, 9, 0, tzinfo=UTC) - timedelta(hours=24) + timedelta(minutes=5)


def _unit_without_contact_person(db_session, parties, ready, mailbox):
    with unit_of_work(db_session):
        unit = db_session.get(Unit, parties.municipality.id)
        unit.email = mailbox
        participant = db_session.get(Participant, ready.municipality.id)
        participant.contact_user_id = None
        db_session.add_all([unit, participant])


def _unit_row(client, engine, parties, ready) -> str:
    login(client, parties.region_user.username)
    section = _section(client.get(f"/cases/{ready.case.uid}").get_data(as_text=True), "h-reminders")
    return flat(_rows(section)[_unit_label(engine, ready.municipality)]).strip()


def test_the_meeting_tomorrow_reminder_goes_to_the_units_mailbox(
    app, engine, client, db_session, parties, ready, book
):
    _unit_without_contact_person(db_session, parties, ready, MAILBOX)
    book()
    assert _unit_row(client, engine, parties, ready) == "Kommande"

    tick(app, TICK)
    with Session(engine) as session:
        invitation = session.exec(
            select(Invitation).where(Invitation.participant_id == ready.municipality.id)
        ).one()
        mails = session.exec(
            select(OutboxMessage).where(OutboxMessage.recipient == MAILBOX, OutboxMessage.kind == "reminder")
        ).all()
    (reminder,) = reminders(engine, kind="meeting_tomorrow", invitation_id=invitation.id)
    assert reminder.status == "sent"
    (mail,) = mails
    assert mail.subject == f"Påminnelse: SIP-möte i morgon ({ready.case.reference})"


def test_a_unit_with_neither_mailbox_nor_contact_person_is_told_another_way(
    app, engine, client, db_session, parties, ready, book
):
    _unit_without_contact_person(db_session, parties, ready, None)
    book()
    assert _unit_row(client, engine, parties, ready).startswith("Skickas inte")
    tick(app, TICK)
    with Session(engine) as session:
        invitation = session.exec(
            select(Invitation).where(Invitation.participant_id == ready.municipality.id)
        ).one()
    (reminder,) = reminders(engine, kind="meeting_tomorrow", invitation_id=invitation.id)
    assert reminder.status == "undeliverable"


def test_the_reminder_follows_an_invitation_an_administrator_moved_to_the_mailbox(
    app, engine, db_session, parties, ready, book, make_user
):
    # The contact person is named when the meeting is booked, then leaves: an administrator disables them.
    with unit_of_work(db_session):
        unit = db_session.get(Unit, parties.municipality.id)
        unit.email = MAILBOX
        db_session.add(unit)
    book()
    admin = make_user(None, roles="admin")
    with unit_of_work(db_session):
        user = db_session.get(User, parties.municipality_user.id)
        admin_users.disable_user(db_session, admin, user, now=now_utc())
    tick(app, TICK)
    with Session(engine) as session:
        reminded = session.exec(select(OutboxMessage.recipient).where(OutboxMessage.kind == "reminder")).all()
    assert MAILBOX in reminded and parties.municipality_user.email not in reminded


def _declared_to_the_mailbox(db_session, registry, parties, create_case):
    """An established SIP whose unit without a contact person has the workflow file's reminder written to
    MAILBOX, and the moment it falls due."""
    case = established(db_session, registry, parties, create_case)
    with unit_of_work(db_session):
        unit = db_session.get(Unit, parties.municipality.id)
        unit.email = MAILBOX
        db_session.add(unit)
    workflow = _declaring_to_participants()
    with unit_of_work(db_session):
        reconcile_case(
            db_session, workflow, db_session.get(SipCase, case.id), now=now_utc(), families={DECLARED}
        )
    (to_unit,) = reminders(db_session.get_bind(), kind="workflow", recipient_unit_id=parties.municipality.id)
    assert to_unit.recipient_address == MAILBOX
    return workflow, to_unit, add_days(case.follow_up_on, -14) + timedelta(hours=1)


def _dispatch(app, engine, workflow, at):
    with app.app_context(), frozen(at), Session(engine) as session:
        with unit_of_work(session):
            dispatch_due(session, _Registry(workflow), now=at)


def test_a_workflow_files_reminder_to_a_unit_without_a_contact_person_goes_to_its_mailbox(
    app, engine, db_session, registry, parties, create_case
):
    workflow, to_unit, at = _declared_to_the_mailbox(db_session, registry, parties, create_case)
    _dispatch(app, engine, workflow, at)
    assert reminders(engine, id=to_unit.id)[0].status == "sent"
    assert MAILBOX in [m.recipient for m in reminder_mails(engine)]


def test_a_workflow_files_reminder_goes_to_the_mailbox_an_administrator_set_since(
    app, engine, db_session, registry, parties, create_case
):
    workflow, to_unit, at = _declared_to_the_mailbox(db_session, registry, parties, create_case)
    save_unit_mailbox(db_session, parties.municipality.id, NEW_MAILBOX)
    _dispatch(app, engine, workflow, at)
    (sent,) = reminders(engine, id=to_unit.id)
    assert (sent.status, sent.recipient_address) == ("sent", NEW_MAILBOX)
    mailed = [m.recipient for m in reminder_mails(engine)]
    assert NEW_MAILBOX in mailed and MAILBOX not in mailed


def test_a_workflow_files_reminder_to_a_unit_deactivated_since_goes_to_no_one(
    app, engine, db_session, registry, parties, create_case
):
    workflow, to_unit, at = _declared_to_the_mailbox(db_session, registry, parties, create_case)
    with unit_of_work(db_session):
        unit = db_session.get(Unit, parties.municipality.id)
        directory.set_unit_active(db_session, None, unit, False, now=now_utc())
    _dispatch(app, engine, workflow, at)
    (skipped,) = reminders(engine, id=to_unit.id)
    assert (skipped.status, skipped.skip_reason) == ("skipped", "no_contact")
    assert MAILBOX not in [m.recipient for m in reminder_mails(engine)]
