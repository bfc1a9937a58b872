"""Two administrators change the directory around running SIPs at the same moment (PostgreSQL, real sessions).

A directory change holds each SIP it moves (cases.services.lock_case): deactivating a unit moves the pending
reminders to the unit at its address and the invitations to meetings ahead; moving a staff member to another
unit releases them as contact person of their former unit. Each pass held its SIPs in the order of their ids,
but one unit after another: an organisation deactivated held the SIP of its first unit, then the SIP of its
second, a lower id, while the other administrator, moving the contact person of both SIPs, held the lower
one and waited for the other. PostgreSQL found the deadlock and failed one of them: an error page, the save
lost. (Two changes of units never meet so: each writes its unit first, and the directory's token,
people.models.directory_version, makes the second wait for the first's commit.) A directory change now holds
every SIP it will move, in the order of their ids, before it moves any (cases.services.lock_cases).
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
import support
from sqlalchemy import event as sa_event
from sqlmodel import Session, select

from sipflow.admin import directory, users
from sipflow.cases.models import Participant
from sipflow.clock import now_utc
from sipflow.db import unit_of_work
from sipflow.people.models import Organisation, Unit, User
from sipflow.reminders.models import WORKFLOW, Reminder

pytestmark = pytest.mark.postgresql

WAIT_SECONDS = 20


def _two_sips(db_session, parties, create_case) -> tuple[int, list[int]]:
    """An organisation of two units, its first on the second SIP and its second on the first, each with a
    workflow file's reminder pending to it at its address; the school on both, its staff member its contact
    person. The organisation's id and the SIPs' ids."""
    first_unit = support.new_unit(db_session, "municipality", "Lessebo kommun", unit_name="Socialtjänsten")
    second_unit = Unit(key="lessebo-boende", organisation_id=first_unit.organisation_id, name="Boendestöd")
    db_session.add(second_unit)
    db_session.commit()
    first_sip = create_case(units=[second_unit.id, parties.school.id])
    second_sip = create_case(units=[first_unit.id, parties.school.id])
    assert first_sip.id < second_sip.id and first_unit.id < second_unit.id
    with unit_of_work(db_session):
        for participant in db_session.exec(
            select(Participant).where(Participant.unit_id == parties.school.id)
        ).all():
            participant.contact_user_id = parties.school_user.id
            db_session.add(participant)
    # Written as the file's reconciliation writes them (the shipped file declares none to keep them).
    with unit_of_work(db_session):
        for case, unit in ((first_sip, second_unit), (second_sip, first_unit)):
            db_session.add(
                Reminder(
                    kind=WORKFLOW,
                    dedupe_key=f"workflow:{case.id}:{unit.id}",
                    case_id=case.id,
                    topic="prepare_follow_up",
                    template="case_reminder",
                    recipient_unit_id=unit.id,
                    due_at=support.FIXED_NOW + timedelta(days=30),
                    created_at=support.FIXED_NOW,
                )
            )
    return first_unit.organisation_id, [first_sip.id, second_sip.id]


def _move_the_contact_person(app, engine, registry, admin_id, user_id, unit_id, outcome: list) -> None:
    """The other administrator moves the school's contact person on both SIPs to another unit."""
    try:
        with app.app_context(), Session(engine) as session:
            with unit_of_work(session):
                user = session.get(User, user_id)
                users.update_user(
                    session, session.get(User, admin_id), user, display_name=user.display_name,
                    email=user.email, unit_id=unit_id, roles=user.roles, coordinator_scope="",
                    now=now_utc(), registry=registry,
                )  # fmt: skip
        outcome.append("saved")
    except Exception as error:  # noqa: BLE001 (the test asserts which)
        outcome.append(error)


def test_an_organisation_deactivated_while_the_contact_person_of_its_sips_moves(
    app, engine, db_session, registry, parties, create_case, make_user
):
    organisation_id, _ = _two_sips(db_session, parties, create_case)
    admin = make_user(None, roles="admin")
    outcome: list = []
    other = threading.Thread(
        target=_move_the_contact_person,
        args=(app, engine, registry, admin.id, parties.school_user.id, parties.outsider.id, outcome),
    )
    here = threading.get_ident()

    def holding_a_sip(_conn, _cursor, statement, *_args) -> None:
        # The deactivation holds a SIP and reads its reminders: the other administrator saves meanwhile.
        if threading.get_ident() != here or other.ident is not None:
            return
        if "FROM reminder" not in statement or "FOR NO KEY UPDATE" not in statement:
            return
        other.start()
        deadline = time.monotonic() + WAIT_SECONDS
        while other.is_alive() and not support.waiting_on_a_lock(engine):
            assert time.monotonic() < deadline, "the other administrator neither waited nor finished"
            time.sleep(0.01)

    sa_event.listen(engine, "before_cursor_execute", holding_a_sip)
    error = None
    try:
        with app.app_context(), Session(engine) as session:
            with unit_of_work(session):
                organisation = session.get(Organisation, organisation_id)
                directory.set_organisation_active(session, admin, organisation, False, now=now_utc())
    except Exception as failed:  # noqa: BLE001 (the test asserts which)
        error = failed
    finally:
        sa_event.remove(engine, "before_cursor_execute", holding_a_sip)
    other.join(WAIT_SECONDS)
    assert not other.is_alive()
    assert (error, outcome) == (None, ["saved"])
    with Session(engine) as session:
        assert not any(session.exec(select(Unit.active).where(Unit.organisation_id == organisation_id)).all())
        contacts = session.exec(
            select(Participant.contact_user_id).where(Participant.unit_id == parties.school.id)
        ).all()
    assert contacts == [None, None]
