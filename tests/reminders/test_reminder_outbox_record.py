"""Each outbox row a reminder's sending writes records that reminder (OutboxMessage.reminder_id), and "this
person already had the same reminder" (services._mailed_before) is read from that record by its index: not
from when the rows were written or in what order, which two reminders of one dispatch, or two dispatchers,
could interleave.
"""

from __future__ import annotations

from datetime import timedelta

from remkit import established, reminder_mails, reminders, tick
from sqlmodel import select

from sipflow.cases import services as case_services
from sipflow.cases.models import Participant
from sipflow.clock import add_days, frozen
from sipflow.db import unit_of_work
from sipflow.reminders.models import Reminder
from sipflow.reminders.services import _mailed_before


def _rows_by_reminder(engine, case) -> dict[int | None, list[str]]:
    found: dict[int | None, list[str]] = {}
    for mail in reminder_mails(engine):
        if mail.case_id == case.id:
            found.setdefault(mail.reminder_id, []).append(mail.recipient)
    return {key: sorted(value) for key, value in found.items()}


def _name_contact(db_session, registry, case, actor, unit, user, *, at) -> None:
    db_session.expire_all()
    participant = db_session.exec(
        select(Participant).where(Participant.case_id == case.id, Participant.unit_id == unit.id)
    ).one()
    db_session.refresh(case)
    with frozen(at), unit_of_work(db_session):
        case_services.set_contact_person(db_session, registry, case, actor, participant.id, user.id, now=at)


def test_reminders_sent_in_one_dispatch_each_record_only_their_own_recipients(
    app, engine, db_session, registry, parties, create_case, make_user
):
    # The region's contact person is its staff member; a colleague is staff of the same unit.
    case = established(db_session, registry, parties, create_case)
    colleague = make_user(parties.region)
    at = add_days(case.follow_up_on, 8)
    tick(app, at)

    sent = reminders(engine, case_id=case.id, status="sent")
    (missed,) = [r for r in sent if r.kind == "deadline_missed"]
    (escalated_by_name,) = [r for r in sent if r.kind == "deadline_escalated" and r.recipient_user_id]
    (escalated_to_unit,) = [r for r in sent if r.kind == "deadline_escalated" and r.recipient_unit_id]
    contact = parties.region_user.email
    # One dispatch, three reminders of one case, each with the rows it wrote and no other's.
    assert _rows_by_reminder(engine, case) == {
        missed.id: [contact],
        escalated_by_name.id: [contact],
        escalated_to_unit.id: [colleague.email],
    }
    for reminder in sent:
        assert _rows_by_reminder(engine, case)[reminder.id]
        assert reminder.outbox_id in {m.id for m in reminder_mails(engine) if m.reminder_id == reminder.id}

    # Named contact person after: the escalation reached the colleague through the unit, the "passed" never.
    _name_contact(db_session, registry, case, parties.region_user, parties.region, colleague, at=at)
    tick(app, at + timedelta(minutes=5))
    mine = sorted(m.subject.split(" (")[0] for m in reminder_mails(engine) if m.recipient == colleague.email)
    assert mine == [
        "En tidsfrist i en SIP har gått ut",
        "En tidsfrist i en SIP har gått ut och är fortfarande inte uppfylld",
    ]
    (again,) = reminders(engine, kind="deadline_escalated", recipient_user_id=colleague.id, case_id=case.id)
    assert (again.status, again.skip_reason) == ("skipped", "already_sent")


def _plan_of(db_session, statement) -> str:
    """The query plan of statement, its parameters bound (IS NOT DISTINCT FROM has no literal form)."""
    connection = db_session.connection()
    compiled = statement.compile(connection)
    if connection.dialect.name == "sqlite":
        params = tuple(compiled.params[name] for name in compiled.positiontup)
        rows = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + str(compiled), params).all()
        return "\n".join(row[-1] for row in rows)
    connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
    rows = connection.exec_driver_sql("EXPLAIN " + str(compiled), compiled.params).all()
    return "\n".join(row[0] for row in rows)


def test_the_already_mailed_look_up_finds_the_outbox_rows_by_their_reminder_index(
    app, engine, db_session, registry, parties, create_case
):
    case = established(db_session, registry, parties, create_case)
    tick(app, add_days(case.follow_up_on, 8))
    with engine.connect() as connection:
        connection.exec_driver_sql("ANALYZE")
        connection.commit()
    reminder = db_session.exec(
        select(Reminder).where(Reminder.case_id == case.id, Reminder.kind == "deadline_escalated")
    ).first()
    plan = _plan_of(db_session, _mailed_before(reminder))
    steps = [line.strip() for line in plan.splitlines()]
    assert [step for step in steps if step.startswith("SCAN") or "Seq Scan" in step] == [], plan
    assert "ix_outboxmessage_reminder_id" in plan, plan
