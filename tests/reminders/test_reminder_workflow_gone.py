"""A reminder of a SIP whose workflow file is gone: one line in the log, no traceback, and a row that says
what to do (a skip reason) and may be sent again once the file is back."""

from __future__ import annotations

import html
import logging
from datetime import UTC, datetime, timedelta

from remkit import reminders, tick
from sqlalchemy import update
from sqlmodel import Session
from webkit import csrf_token, login

from sipflow.cases.models import SipCase

MEETING = datetime(2026, 11, 9, 9, 0, tzinfo=UTC)
TICK = MEETING - timedelta(hours=24) + timedelta(minutes=5)


def test_a_reminder_whose_workflow_version_is_gone_is_skipped_with_a_reason_and_offered_again(
    app, engine, client, make_user, parties, book, ready, caplog
):
    book()
    with Session(engine) as session:
        session.execute(update(SipCase).values(workflow_version=99))
        session.commit()
    with caplog.at_level(logging.WARNING, logger="sipflow.reminders"):
        report = tick(app, TICK)
    gone = reminders(engine, status="skipped")
    assert (report.failed, report.sent, report.skipped) == (0, 0, len(gone))
    assert {row.skip_reason for row in gone} == {"workflow_missing"}
    lines = [
        r for r in caplog.records if r.name.startswith("sipflow.reminders") and r.levelno >= logging.WARNING
    ]
    assert len(lines) == len(gone)
    assert all(r.exc_info is None for r in lines)
    assert "no loaded workflow file defines workflow sip version 99" in lines[0].getMessage()
    admin = make_user(parties.region, roles="admin")
    login(client, admin.username)
    page = html.unescape(client.get("/admin/reminders/?status=skipped").get_data(as_text=True))
    assert "arbetsflödesfil saknas eller definierar inte längre dess status" in page
    row = gone[0]
    assert f"/admin/reminders/{row.id}/retry" in page
    answer = client.post(
        f"/admin/reminders/{row.id}/retry", data={"csrf_token": csrf_token(page), "status": "skipped"}
    )
    assert answer.status_code == 302
    (row,) = reminders(engine, id=row.id)
    assert row.status == "pending"
