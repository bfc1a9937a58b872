"""An English reminder reads as English: a weekday date takes "on" ("it falls on Thursday 17 December 2026",
"was to end on Thursday 3 December 2026"), and the organisations that write the plan are a list ("Region X
and Municipality Y"), not names joined by a comma, which read as one organisation and its unit ("Växjö
kommun, Socialtjänsten" is how a unit is named)."""

from __future__ import annotations

import email
import email.policy
from datetime import date, datetime

from remkit import UNTIL_PLAN, add_effort, established, reminder_mails, tick, walk
from sqlmodel import select

from sipflow.cases.models import Participant
from sipflow.clock import add_days
from sipflow.db import unit_of_work
from sipflow.people.models import Organisation, User
from sipflow.plans.models import PlanEffort
from sipflow.workflow.definition import HUVUDANSVARIG, PARTICIPANT


def _body(row) -> str:
    message = email.message_from_string(row.message, policy=email.policy.default)
    return message.get_body(preferencelist=("plain",)).get_content()


def _speak(db_session, *users, language: str) -> None:
    with unit_of_work(db_session):
        for user in users:
            db_session.get(User, user.id).language = language


def test_an_english_deadline_and_effort_reminder_put_on_before_the_day(
    app, engine, db_session, registry, parties, create_case
):
    case = established(db_session, registry, parties, create_case)
    _speak(db_session, parties.region_user, language="en")
    add_effort(db_session, case, parties.region.organisation_id, date(2026, 12, 3))
    tick(app, datetime.fromisoformat("2026-12-08T12:30:00+00:00"))
    # The follow-up's deadline: approaching, then passed and escalated to the region's contact.
    tick(app, add_days(case.follow_up_on, -3))
    tick(app, add_days(case.follow_up_on, 8))
    texts = " ".join(_body(m) for m in reminder_mails(engine) if m.recipient == parties.region_user.email)
    assert "was to end on Thursday 3 December 2026 " in texts
    assert "is approaching: it falls on " in texts
    assert "of a SIP passed on " in texts
    assert "end Thursday" not in texts and "falls Tuesday" not in texts and "passed Tuesday" not in texts


def test_the_organisations_writing_the_plan_are_listed_with_and_in_the_readers_language(
    app, engine, db_session, registry, parties, create_case
):
    """The region started the SIP, the municipality holds huvudansvar: both write the plan. Försäkringskassan
    only reads it, so its reminder of its overdue effort says whom to tell."""
    case = create_case("sip", units=[parties.municipality.id, parties.outsider.id])
    walk(db_session, registry, parties.region_user, case, UNTIL_PLAN)
    with unit_of_work(db_session):
        for effort in db_session.exec(select(PlanEffort)).all():
            effort.status = "done"
        for participant in db_session.exec(select(Participant).where(Participant.case_id == case.id)).all():
            if participant.organisation_id == parties.municipality.organisation_id:
                participant.role = HUVUDANSVARIG
            elif participant.role == HUVUDANSVARIG:
                participant.role = PARTICIPANT
    english = parties.outsider_user
    _speak(db_session, english, language="en")
    add_effort(db_session, case, parties.outsider.organisation_id, date(2026, 12, 3))
    tick(app, datetime.fromisoformat("2026-12-08T12:30:00+00:00"))
    (mail,) = [m for m in reminder_mails(engine) if m.recipient == english.email]
    region = db_session.get(Organisation, parties.region.organisation_id).name
    municipality = db_session.get(Organisation, parties.municipality.organisation_id).name
    assert f"tell {region} and {municipality}, who write the plan" in _body(mail)
