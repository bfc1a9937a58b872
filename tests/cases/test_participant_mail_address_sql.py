"""Participant.has_mail_address, the SQL spelling of Participant.mail_address (the reminders' lists ask it of
a unit whose staff no mail reaches), says what the Python rule says over every combination: an address of
its own (none, empty, one), a contact person (none, disabled with an address, active without or with one) and
a unit (none, deactivated with a mailbox, active without or with one)."""

from __future__ import annotations

import itertools

from sqlmodel import select

from sipflow.cases.models import Participant
from sipflow.db import unit_of_work
from sipflow.people.models import Unit, User


def test_the_sql_spelling_agrees_with_mail_address_over_every_combination(
    db_session, create_case, make_unit, make_user, now
):
    case = create_case()
    units = [None]
    mailboxes = ((False, "stangd@kommun.example.se"), (True, None), (True, "sip@kommun.example.se"))
    for active, mailbox in mailboxes:
        unit = make_unit("municipality", f"Kommun {len(units)}")
        with unit_of_work(db_session):
            unit.active, unit.email = active, mailbox
            db_session.add(unit)
        units.append(unit)
    contacts = [None]
    addresses = ((False, "slutat@kommun.example.se"), (True, None), (True, "anna@kommun.example.se"))
    for active, address in addresses:
        user = make_user(units[-1])
        with unit_of_work(db_session):
            user.active, user.email = active, address
            db_session.add(user)
        contacts.append(user)
    cases = list(itertools.product((None, "", "egen@example.se"), contacts, units))
    with unit_of_work(db_session):
        participants = [
            Participant(
                case_id=case.id,
                kind="organisation",
                organisation_id=unit.organisation_id if unit else None,
                unit_id=unit.id if unit else None,
                contact_user_id=contact.id if contact else None,
                email=email,
                added_at=now,
            )
            for email, contact, unit in cases
        ]
        db_session.add_all(participants)
    ids = [p.id for p in participants]
    known = select(Participant.id).where(Participant.id.in_(ids), Participant.has_mail_address())
    in_sql = set(db_session.exec(known).all())
    for participant, (_email, contact, unit) in zip(participants, cases, strict=True):
        contact = db_session.get(User, contact.id) if contact else None
        unit = db_session.get(Unit, unit.id) if unit else None
        expected = participant.mail_address(contact, unit) is not None
        assert (participant.id in in_sql) == expected, (participant.email, contact, unit)
    # Each way of being reached is among them, and so is none.
    assert 0 < len(in_sql) < len(ids)
