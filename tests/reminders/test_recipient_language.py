"""Reminders and invitations are written in the recipient's language: a staff member's own, an invitee's."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime, timedelta

from remkit import established, reminders, tick
from sqlmodel import Session, select

from sipflow.cases import services as case_services
from sipflow.cases.models import Participant
from sipflow.clock import add_days, now_utc
from sipflow.db import unit_of_work
from sipflow.notifications.models import OutboxMessage
from sipflow.people.models import User
from sipflow.people.services import set_user_language
from sipflow.reminders.models import Reminder

# book() puts the meeting on Monday 9 November 2026, 10:00 Swedish time; five minutes after its
# "meeting tomorrow" reminders fall due.
MEETING = datetime(2026, 11, 9, 9, 0, tzinfo=UTC)
TICK = MEETING - timedelta(hours=24) + timedelta(minutes=5)


def _body(row: OutboxMessage) -> str:
    message = email.message_from_string(row.message, policy=email.policy.default)
    return message.get_body(preferencelist=("plain",)).get_content()


def _mails_to(engine, address: str, kind: str = "reminder") -> list[OutboxMessage]:
    with Session(engine) as session:
        return list(
            session.exec(
                select(OutboxMessage)
                .where(OutboxMessage.recipient == address, OutboxMessage.kind == kind)
                .order_by(OutboxMessage.id)
            ).all()
        )


def _speaks(db_session, user: User, language: str) -> None:
    with unit_of_work(db_session):
        set_user_language(db_session, db_session.get(User, user.id), language)


def test_an_english_colleague_gets_the_escalation_in_english_and_a_swedish_one_in_swedish(
    app, engine, db_session, registry, parties, create_case, make_user
):
    english = make_user(parties.region, email="colleague@region.example.se")
    _speaks(db_session, english, "en")
    case = established(db_session, registry, parties, create_case)
    tick(app, add_days(case.follow_up_on, 8))
    # The escalation to the region's unit goes to each of its staff, each in their own language.
    (unit_reminder,) = reminders(engine, kind="deadline_escalated", recipient_unit_id=parties.region.id)
    assert unit_reminder.status == "sent"
    (to_english,) = _mails_to(engine, english.email)
    assert to_english.subject == f"A SIP deadline has passed and is still not met ({case.reference})"
    body = _body(to_english)
    assert "The deadline" in body and "is still not met" in body and f"Case: {case.reference}" in body
    assert "Ärende" not in body and "kl." not in body
    escalated = f"En tidsfrist i en SIP har gått ut och är fortfarande inte uppfylld ({case.reference})"
    swedish = [m for m in _mails_to(engine, parties.region_user.email) if m.subject == escalated]
    # The contact's own escalation only: the unit's goes to the rest of its staff, not to them again.
    assert len(swedish) == 1
    for mail in swedish:
        assert f"Ärende: {case.reference}" in _body(mail) and "Case:" not in _body(mail)


def test_an_invitee_marked_english_gets_the_invitation_and_the_meeting_tomorrow_in_english(
    app, engine, db_session, registry, book, ready
):
    with unit_of_work(db_session):
        case_services.set_participant_contact(
            db_session,
            registry,
            ready.case,
            ready.relative.id,
            email=ready.relative.email,
            phone=None,
            now=now_utc(),
            language="en",
        )
    book()
    (invitation,) = _mails_to(engine, ready.relative.email, kind="request")
    when = "Monday 9 November 2026 at 10:00 (Swedish time)"
    assert invitation.subject == f"SIP meeting {ready.case.reference}, {when}"
    text = _body(invitation)
    assert "You are invited to a SIP meeting" in text and "?lang=en" in text
    (person_invitation,) = _mails_to(engine, ready.person.email, kind="request")
    assert person_invitation.subject.startswith(f"SIP-möte {ready.case.reference}, måndag 9 november 2026")

    tick(app, TICK)
    (reminder,) = _mails_to(engine, ready.relative.email)
    assert reminder.subject == f"Reminder: SIP meeting tomorrow ({ready.case.reference})"
    body = _body(reminder)
    assert "Reminder: you are invited to a SIP meeting tomorrow." in body
    assert "Time: Monday 9 November 2026 at 10:00 (Swedish time)" in body
    assert "\n\n\n" not in body.replace("\r\n", "\n")  # one blank line between the blocks
    assert email.message_from_string(reminder.message)["Content-Language"] == "en"
    # Privacy-safe as before: no name in the English text either.
    assert "Andersson" not in body and "Eva" not in reminder.subject
    (to_person,) = _mails_to(engine, ready.person.email)
    assert to_person.subject == f"Påminnelse: SIP-möte i morgon ({ready.case.reference})"
    assert "Tid: måndag 9 november 2026 kl. 10:00" in _body(to_person)


def _html(row: OutboxMessage) -> str:
    message = email.message_from_string(row.message, policy=email.policy.default)
    return message.get_body(preferencelist=("html",)).get_content()


def test_the_html_part_of_an_invitation_declares_the_language_it_is_written_in(
    engine, db_session, registry, book, ready
):
    """A screen reader reads the HTML part in the language its <html lang> names: an English invitation
    read with Swedish pronunciation is hard to follow."""
    with unit_of_work(db_session):
        case_services.set_participant_contact(
            db_session,
            registry,
            ready.case,
            ready.relative.id,
            email=ready.relative.email,
            phone=None,
            now=now_utc(),
            language="en",
        )
    book()
    (english,) = _mails_to(engine, ready.relative.email, kind="request")
    assert '<html lang="en">' in _html(english) and "You are invited to a SIP meeting" in _html(english)
    (swedish,) = _mails_to(engine, ready.person.email, kind="request")
    assert '<html lang="sv">' in _html(swedish)


def test_a_unit_reached_at_its_contact_persons_address_is_written_to_in_that_persons_language(
    app, engine, db_session, parties, book, ready
):
    _speaks(db_session, parties.municipality_user, "en")
    # The municipality's participant row keeps Swedish; it has no address of its own.
    assert db_session.get(Participant, ready.municipality.id).language == "sv"
    book()
    (invitation,) = _mails_to(engine, parties.municipality_user.email, kind="request")
    assert invitation.subject.startswith(f"SIP meeting {ready.case.reference}")
    tick(app, TICK)
    (reminder,) = _mails_to(engine, parties.municipality_user.email)
    assert reminder.subject == f"Reminder: SIP meeting tomorrow ({ready.case.reference})"


def test_a_reminder_to_a_bare_address_is_in_the_default_language(app, engine, ready):
    # An effort's plan contact: an address only, no account and no participant whose language we know.
    with Session(engine) as session, unit_of_work(session):
        session.add(
            Reminder(
                kind="effort_overdue",
                dedupe_key="effort_overdue:test@20261108",
                case_id=ready.case.id,
                template="case_reminder",
                recipient_address="kontakt@example.se",
                due_at=TICK - timedelta(minutes=1),
                created_at=TICK - timedelta(days=1),
            )
        )
    tick(app, TICK)
    (mail,) = _mails_to(engine, "kontakt@example.se")
    assert mail.subject == f"En insats i en SIP har passerat sitt slutdatum ({ready.case.reference})"
    assert f"Ärende: {ready.case.reference}" in _body(mail)
