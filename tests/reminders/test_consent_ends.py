"""A reminder a workflow file declares ahead of the consent's end (anchor `consent_ends`): it counts from the
last day of consent of the organisation whose consent runs out first, follows a further consent or a
withdrawal for one organisation, and its mail names that day."""

from __future__ import annotations

import email
import email.policy
from datetime import date, timedelta

from remkit import further_consent, morning_of, reminder_mails, reminders, tick
from support import FIXED_NOW, fire

from sipflow.consent import services as consent
from sipflow.db import unit_of_work

# The scripted consent's last day: a year after the frozen clock's day.
FIRST_END = FIXED_NOW.date() + timedelta(days=365)


def _pending(engine) -> list:
    return reminders(engine, kind="workflow", topic="renew_consent", status="pending")


def test_the_reminder_follows_the_consent_that_runs_out_first(
    engine, db_session, registry, parties, create_case, renewing
):
    case = create_case()
    fire(db_session, registry, parties.region_user, case, "give_consent", now=FIXED_NOW)
    (row,) = _pending(engine)
    assert row.recipient_user_id == case.created_by_user_id
    assert row.due_at == morning_of(FIRST_END - timedelta(days=14))

    # A further consent for every organisation, for longer: the reminder moves to the new end.
    region, municipality = parties.region.organisation_id, parties.municipality.organisation_id
    later = FIRST_END + timedelta(days=200)
    at = FIXED_NOW + timedelta(days=30)
    further_consent(
        db_session, registry, parties.region_user, case,
        valid_until=later, organisation_ids=[region, municipality], at=at,
    )  # fmt: skip
    (row,) = _pending(engine)
    assert row.due_at == morning_of(later - timedelta(days=14))

    # The municipality's consent withdrawn: only the region, which started the SIP and sees it whatever
    # the consent says, is covered now, so no organisation is to lose the SIP and nothing is to be sent.
    with unit_of_work(db_session):
        db_session.refresh(case)
        consent.withdraw_for_organisation(
            db_session, registry, case, parties.region_user,
            {"organisation_id": municipality, "reason": "Personen vill inte längre"},
            expected_version=case.version, now=at + timedelta(days=1),
        )  # fmt: skip
    assert _pending(engine) == []
    (cancelled,) = reminders(engine, kind="workflow", topic="renew_consent", status="cancelled")
    assert cancelled.due_at == morning_of(later - timedelta(days=14))


def test_a_consent_until_withdrawn_needs_no_reminder(
    engine, db_session, registry, parties, create_case, renewing
):
    case = create_case()
    fire(db_session, registry, parties.region_user, case, "give_consent", now=FIXED_NOW)
    assert len(_pending(engine)) == 1
    further_consent(
        db_session, registry, parties.region_user, case,
        valid_until=None, organisation_ids=[parties.municipality.organisation_id],
        at=FIXED_NOW + timedelta(days=1),
    )  # fmt: skip
    assert _pending(engine) == []


def test_the_mail_names_the_last_day_of_consent(
    app, engine, db_session, registry, parties, create_case, renewing
):
    case = create_case()
    fire(db_session, registry, parties.region_user, case, "give_consent", now=FIXED_NOW)
    tick(app, morning_of(FIRST_END - timedelta(days=14)) + timedelta(minutes=1))
    (mail,) = [m for m in reminder_mails(engine) if m.subject.startswith("Samtycket")]
    assert mail.subject == f"Samtycket går snart ut ({case.reference})"
    body = email.message_from_string(mail.message, policy=email.policy.default).get_content()
    assert f"Samtycket gäller till och med: {_swedish_day(FIRST_END)}" in body


def test_a_workflow_without_the_anchor_writes_no_row_for_a_consent(
    engine, db_session, registry, parties, create_case
):
    case = create_case()
    fire(db_session, registry, parties.region_user, case, "give_consent", now=FIXED_NOW)
    assert reminders(engine, kind="workflow") == []


def _swedish_day(day: date) -> str:
    months = "januari februari mars april maj juni juli augusti september oktober november december".split()
    weekdays = "måndag tisdag onsdag torsdag fredag lördag söndag".split()
    return f"{weekdays[day.weekday()]} {day.day} {months[day.month - 1]} {day.year}"
