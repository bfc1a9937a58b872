"""A reminder of a deadline counted in whole days (the follow-up) says its day, "måndag 1 mars 2027", not
"kl. 23:59" of it; a deadline at a time of day keeps its time."""

from __future__ import annotations

import email
import email.policy
from datetime import timedelta

from babel.dates import format_date
from remkit import established, reminder_mails, tick

from sipflow.clock import to_local


def _body(row) -> str:
    message = email.message_from_string(row.message, policy=email.policy.default)
    return message.get_body(preferencelist=("plain",)).get_content()


def test_the_follow_up_reminder_says_the_day_it_falls_on(
    app, engine, db_session, registry, parties, create_case
):
    case = established(db_session, registry, parties, create_case)
    follow_up = case.follow_up_on
    tick(app, follow_up - timedelta(hours=12))  # the morning of its day
    bodies = [_body(row) for row in reminder_mails(engine)]
    today = [body for body in bodies if "går ut i dag" in body]
    assert today, bodies
    said = format_date(to_local(follow_up).date(), "d MMMM y", locale="sv") + "."
    assert all(said in body and "23:59" not in body for body in today), today
    # The deadline's name from the workflow file, quoted: not "Tidsfristen Uppföljning i en SIP".
    assert all("Tidsfristen ”Uppföljning” i en SIP går ut i dag" in body for body in today), today
