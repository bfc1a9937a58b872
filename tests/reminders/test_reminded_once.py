"""Each reminder reaches a person once: a contact person named after their unit was told of a deadline
passed (or escalated), or after a declared reminder went to the unit's address on the SIP, which is their
own, does not get it a second time by name; a contact person who never had it does, late.

(The other order, a contact person reached by name whose unit's copy leaves them out, is
test_follow_up_and_efforts.py's test_an_overdue_follow_up_is_escalated_once_after_the_scheduler_was_down.)
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from remkit import established, reminder_mails, reminders, tick
from sqlmodel import select
from webkit import login

from sipflow.cases import services as case_services
from sipflow.cases.models import Participant
from sipflow.clock import add_days, frozen, now_utc
from sipflow.db import unit_of_work

WORKFLOWS = Path(__file__).resolve().parents[2] / "workflows"
MISSED = "En tidsfrist i en SIP har gått ut"
ESCALATED = "En tidsfrist i en SIP har gått ut och är fortfarande inte uppfylld"


def _participant(db_session, case, unit) -> Participant:
    db_session.expire_all()
    return db_session.exec(
        select(Participant).where(Participant.case_id == case.id, Participant.unit_id == unit.id)
    ).one()


def _name_contact(db_session, registry, case, actor, unit, user, *, at) -> None:
    """actor names user (None: no one) the contact person of unit on the SIP, at the instant at."""
    participant = _participant(db_session, case, unit)
    db_session.refresh(case)
    with frozen(at), unit_of_work(db_session):
        case_services.set_contact_person(
            db_session, registry, case, actor, participant.id, user.id if user else None, now=at
        )


def _subjects_to(engine, address, case) -> list[str]:
    return sorted(
        m.subject.removesuffix(f" ({case.reference})")
        for m in reminder_mails(engine)
        if m.recipient == address
    )


@pytest.fixture
def told_through_the_unit(app, engine, db_session, registry, parties, create_case):
    """An established SIP whose lead unit (the region's) names no contact person: its follow-up passed
    and escalated, both mailed to the unit's staff (the region's one staff member). The case and when."""
    case = established(db_session, registry, parties, create_case)
    start = case.follow_up_on - timedelta(days=30)
    _name_contact(db_session, registry, case, parties.region_user, parties.region, None, at=start)
    at = add_days(case.follow_up_on, 8)
    tick(app, at)
    through_unit = reminders(engine, recipient_unit_id=parties.region.id, topic="follow_up", status="sent")
    assert {r.kind for r in through_unit} == {"deadline_missed", "deadline_escalated"}
    assert _subjects_to(engine, parties.region_user.email, case) == [MISSED, ESCALATED]
    return case, at


def test_a_colleague_named_contact_person_after_the_unit_was_told_is_not_told_again(
    app, engine, client, db_session, registry, parties, make_user, told_through_the_unit
):
    case, at = told_through_the_unit
    _name_contact(db_session, registry, case, parties.region_user, parties.region, parties.region_user, at=at)
    pending = reminders(engine, recipient_user_id=parties.region_user.id, topic="follow_up", status="pending")
    by_name = [r for r in pending if r.kind in ("deadline_missed", "deadline_escalated")]
    assert len(by_name) == 2

    tick(app, at + timedelta(minutes=5))
    assert _subjects_to(engine, parties.region_user.email, case) == [MISSED, ESCALATED]
    for row in reminders(engine, id=by_name[0].id) + reminders(engine, id=by_name[1].id):
        assert (row.status, row.skip_reason) == ("skipped", "already_sent")

    admin = make_user(parties.region, roles="admin")
    login(client, admin.username)
    listing = client.get("/admin/reminders/?status=skipped").get_data(as_text=True)
    reason = "alla den skulle gå till har redan fått samma påminnelse, personligen eller via sin enhet"
    assert f"Hoppades över: {reason}" in listing


def test_a_contact_person_who_was_not_staff_of_the_unit_then_gets_it_late(
    app, engine, db_session, registry, parties, make_user, told_through_the_unit
):
    case, at = told_through_the_unit
    newcomer = make_user(parties.region)
    _name_contact(db_session, registry, case, parties.region_user, parties.region, newcomer, at=at)
    tick(app, at + timedelta(minutes=5))
    assert _subjects_to(engine, newcomer.email, case) == [MISSED, ESCALATED]
    assert _subjects_to(engine, parties.region_user.email, case) == [MISSED, ESCALATED]
    tick(app, at + timedelta(minutes=10))
    assert _subjects_to(engine, newcomer.email, case) == [MISSED, ESCALATED]


def test_a_declared_reminder_sent_to_the_units_address_does_not_go_again_to_that_address_by_name(
    app, engine, db_session, registry, parties, declaring
):
    case = declaring
    own = parties.municipality_user
    # The municipality's address on the SIP is its staff member's own.
    db_session.refresh(case)
    with unit_of_work(db_session):
        case_services.set_participant_contact(
            db_session,
            registry,
            case,
            _participant(db_session, case, parties.municipality).id,
            email=own.email,
            phone=None,
            now=now_utc(),
        )
    at = add_days(case.follow_up_on, -14) + timedelta(hours=1)
    tick(app, at)
    assert _subjects_to(engine, own.email, case) == ["Förbered uppföljningen"]

    _name_contact(db_session, registry, case, own, parties.municipality, own, at=at)
    (by_name,) = reminders(engine, kind="workflow", recipient_user_id=own.id)
    tick(app, at + timedelta(minutes=5))
    assert _subjects_to(engine, own.email, case) == ["Förbered uppföljningen"]
    assert (reminders(engine, id=by_name.id)[0].status, reminders(engine, id=by_name.id)[0].skip_reason) == (
        "skipped",
        "already_sent",
    )


def test_a_declared_reminder_goes_to_a_new_contact_person_once_and_not_again_to_the_old_one(
    app, engine, db_session, registry, parties, make_user, declaring
):
    case, first = declaring, parties.municipality_user
    second = make_user(parties.municipality)
    at = add_days(case.follow_up_on, -14) + timedelta(hours=1)
    _name_contact(db_session, registry, case, first, parties.municipality, first, at=at - timedelta(days=1))
    tick(app, at)
    _name_contact(
        db_session, registry, case, first, parties.municipality, second, at=at + timedelta(minutes=1)
    )
    tick(app, at + timedelta(minutes=5))
    _name_contact(
        db_session, registry, case, first, parties.municipality, first, at=at + timedelta(minutes=6)
    )
    tick(app, at + timedelta(minutes=10))
    assert _subjects_to(engine, first.email, case) == ["Förbered uppföljningen"]
    assert _subjects_to(engine, second.email, case) == ["Förbered uppföljningen"]
