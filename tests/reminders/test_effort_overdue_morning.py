"""An effort past its end date is reminded of in the morning, as every reminder about a day is: the
scheduler's first tick after midnight finds it, and the mail waits for 07:00 Swedish time rather than go out
at night."""

from __future__ import annotations

import email
import email.policy
from datetime import date, datetime, time

from remkit import add_effort, established, reminder_mails, reminders, tick

from sipflow.clock import local_to_utc, to_local
from sipflow.db import unit_of_work
from sipflow.plans.models import PlanEffort


def body_of(row) -> str:
    message = email.message_from_string(row.message, policy=email.policy.default)
    return message.get_body(preferencelist=("plain",)).get_content()


def _swedish(day: date, at: time) -> datetime:
    return local_to_utc(datetime.combine(day, at))


def test_an_effort_found_late_just_after_midnight_is_mailed_at_seven_not_at_night(
    app, engine, db_session, registry, parties, create_case
):
    case = established(db_session, registry, parties, create_case)
    # Ends on the Friday before the clocks go back (25 October 2026).
    add_effort(db_session, case, parties.region.organisation_id, date(2026, 10, 23))
    tick(app, _swedish(date(2026, 10, 24), time(0, 1)))
    (reminder,) = reminders(engine, kind="effort_overdue")
    assert reminder.status == "pending"
    assert reminder_mails(engine) == []
    assert to_local(reminder.due_at).time() == time(7)
    tick(app, _swedish(date(2026, 10, 24), time(6, 59)))
    assert reminder_mails(engine) == []
    tick(app, _swedish(date(2026, 10, 24), time(7, 0)))
    tick(app, _swedish(date(2026, 10, 24), time(7, 1)))
    (sent,) = reminders(engine, kind="effort_overdue")
    assert sent.status == "sent"
    assert [m.recipient for m in reminder_mails(engine)] == [parties.region_user.email]


def test_an_effort_found_late_in_the_day_is_mailed_at_once(
    app, engine, db_session, registry, parties, create_case
):
    case = established(db_session, registry, parties, create_case)
    add_effort(db_session, case, parties.region.organisation_id, date(2026, 12, 22))
    at = _swedish(date(2026, 12, 28), time(13, 30))
    tick(app, at)
    (reminder,) = reminders(engine, kind="effort_overdue")
    assert (reminder.status, reminder.due_at) == ("sent", at)


def test_an_effort_given_a_later_end_date_before_the_morning_is_not_mailed_as_past_it(
    app, engine, db_session, registry, parties, create_case
):
    """Found late at 00:01, its end date moved to next week at 06:30: the 07:00 mail would say it is past its
    end date when it is not."""
    case = established(db_session, registry, parties, create_case)
    effort = add_effort(db_session, case, parties.region.organisation_id, date(2026, 10, 23))
    tick(app, _swedish(date(2026, 10, 24), time(0, 1)))
    with unit_of_work(db_session):
        db_session.get(PlanEffort, effort.id).ends_on = date(2026, 10, 30)
    tick(app, _swedish(date(2026, 10, 24), time(7, 1)))
    (reminder,) = reminders(engine, kind="effort_overdue")
    assert (reminder.status, reminder.skip_reason) == ("skipped", "effort_moved")
    assert reminder_mails(engine) == []


def test_the_effort_mail_writes_its_end_date_out_in_the_recipients_language(
    app, engine, db_session, registry, parties, create_case
):
    # Every other date a mail gives is written out ("tisdag 16 februari 2027"); an ISO date was the one left.
    case = established(db_session, registry, parties, create_case)
    english = parties.municipality_user
    with unit_of_work(db_session):
        db_session.get(type(english), english.id).language = "en"
    add_effort(db_session, case, parties.region.organisation_id, date(2026, 12, 3))
    add_effort(db_session, case, parties.municipality.organisation_id, date(2026, 12, 3))
    tick(app, _swedish(date(2026, 12, 8), time(13, 30)))
    texts = {m.recipient: body_of(m) for m in reminder_mails(engine)}
    assert "skulle avslutas torsdag 3 december 2026 " in texts[parties.region_user.email]
    assert "was to end on Thursday 3 December 2026 " in texts[english.email]
    assert "2026-12-03" not in " ".join(texts.values())


def test_an_effort_given_todays_end_date_after_its_reminder_is_reminded_again_the_next_morning(
    app, engine, db_session, registry, parties, create_case
):
    """Its end date passed unnoticed (the scheduler down over the night): found at 10:00 and mailed at once,
    the contact moves it to today. Past that day too, the next morning brings its reminder: the mail of
    today was about yesterday's end date. (A reminder written after 02:00 Swedish time fell on the new end
    date's UTC day, and was taken for one written after it.)"""
    case = established(db_session, registry, parties, create_case)
    effort = add_effort(db_session, case, parties.region.organisation_id, date(2026, 10, 22))
    tick(app, _swedish(date(2026, 10, 23), time(10, 0)))
    (first,) = reminders(engine, kind="effort_overdue")
    assert first.status == "sent"
    with unit_of_work(db_session):
        db_session.get(PlanEffort, effort.id).ends_on = date(2026, 10, 23)
    tick(app, _swedish(date(2026, 10, 24), time(0, 1)))
    tick(app, _swedish(date(2026, 10, 24), time(7, 1)))
    sent = [r for r in reminders(engine, kind="effort_overdue") if r.status == "sent"]
    assert [to_local(r.due_at) for r in sent[1:]] == [to_local(_swedish(date(2026, 10, 24), time(7, 0)))]
    assert len(reminder_mails(engine)) == 2
    # Once reminded of after its end date (the tick just after midnight), it is not reminded again.
    tick(app, _swedish(date(2026, 10, 25), time(7, 1)))
    assert len(reminders(engine, kind="effort_overdue")) == 2
