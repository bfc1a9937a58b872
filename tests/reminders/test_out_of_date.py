"""A reminder telling of something ahead ("today", "in N days", "tomorrow") that the scheduler sends only
after that moment is skipped, with its reason on the administration's list; those about what has passed
still go."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from remkit import established, reminder_mails, reminders, sip_declaring, tick
from sqlmodel import Session
from webkit import login

from sipflow.clock import add_days, frozen
from sipflow.db import unit_of_work
from sipflow.reminders.models import WORKFLOW, Reminder
from sipflow.reminders.services import dispatch_due
from sipflow.scheduler import scheduler_command


def test_a_due_today_reminder_sent_the_morning_after_is_skipped_and_only_the_passed_one_goes(
    app, engine, client, make_user, parties, ready
):
    # The kallelse falls on Monday 23 November, 10:00 Swedish time. The scheduler was down until Tuesday
    # 08:30: "falls today, Monday 23 November" would be false; "has passed" is what is true, and is sent.
    result = app.test_cli_runner().invoke(
        scheduler_command,
        ["--once", "--now", "2026-11-24T07:30:00Z", "--job", "reminders", "--job", "outbox"],
    )
    assert result.exit_code == 0, result.output
    by_kind = {r.kind: r for r in reminders(engine) if r.deadline_id is not None and r.recipient_user_id}
    due = by_kind["deadline_due"]
    assert (due.status, due.skip_reason) == ("skipped", "passed")
    assert (by_kind["deadline_soon"].status, by_kind["deadline_soon"].skip_reason) == ("skipped", "passed")
    assert by_kind["deadline_missed"].status == "sent"
    passed = f"En tidsfrist i en SIP har gått ut ({ready.case.reference})"
    assert [m.subject for m in reminder_mails(engine)] == [passed]

    admin = make_user(parties.region, roles="admin")
    login(client, admin.username)
    page = client.get("/admin/reminders/?status=skipped").get_data(as_text=True)
    assert "inaktuell: det den påminner om hade redan inträffat när den skulle skickas" in page


def test_a_due_today_reminder_sent_later_the_same_day_but_before_the_moment_still_goes(app, engine, ready):
    # Sent at 09:30 Swedish time, half an hour before the kallelse's 10:00: late, but still true.
    tick(app, datetime(2026, 11, 23, 8, 30, tzinfo=UTC))
    (due,) = [r for r in reminders(engine, kind="deadline_due") if r.recipient_user_id]
    assert (due.status, due.late, due.skip_reason) == ("sent", True, None)


class _Registry:
    """A registry of one workflow: the sip file with the reminder a test declares."""

    def __init__(self, workflow):
        self.workflow = workflow

    def get(self, name, version):
        return self.workflow


def _declaring(offset_days: int):
    return sip_declaring(
        "prepare_follow_up", "follow_up_on", offset_days=offset_days, recipients=["huvudansvarig"]
    )


def _declared_row(engine, case, due_at) -> int:
    with Session(engine) as session, unit_of_work(session):
        row = Reminder(
            kind=WORKFLOW,
            dedupe_key=f"workflow:{case.id}:prepare_follow_up:u1@test",
            case_id=case.id,
            topic="prepare_follow_up",
            template="case_reminder",
            recipient_user_id=case.created_by_user_id,
            due_at=due_at,
            created_at=due_at - timedelta(days=30),
        )
        session.add(row)
        session.flush()
        return row.id


def _dispatch(app, engine, workflow, at):
    with app.app_context(), frozen(at), Session(engine) as session, unit_of_work(session):
        dispatch_due(session, _Registry(workflow), now=at)


def test_a_declared_reminder_ahead_of_its_anchor_is_skipped_once_the_anchor_has_passed(
    app, engine, db_session, registry, parties, create_case
):
    case = established(db_session, registry, parties, create_case)
    row_id = _declared_row(engine, case, add_days(case.follow_up_on, -14))
    _dispatch(app, engine, _declaring(-14), case.follow_up_on + timedelta(hours=8))
    (row,) = reminders(engine, id=row_id)
    assert (row.status, row.skip_reason) == ("skipped", "passed")


def test_a_declared_reminder_after_its_anchor_still_goes_late(
    app, engine, db_session, registry, parties, create_case
):
    case = established(db_session, registry, parties, create_case)
    row_id = _declared_row(engine, case, add_days(case.follow_up_on, 1))
    _dispatch(app, engine, _declaring(1), add_days(case.follow_up_on, 3))
    (row,) = reminders(engine, id=row_id)
    assert (row.status, row.late) == ("sent", True)
