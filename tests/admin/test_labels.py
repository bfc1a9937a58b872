"""The administration's lists name what they show in words, never the stored codes."""

from __future__ import annotations

import html

import pytest
from sqlmodel import select
from webkit import login, text_of

from sipflow.reminders.models import DEADLINE_SOON, Reminder

pytestmark = pytest.mark.usefixtures("frozen_clock")


def test_the_reminder_list_names_the_deadline_as_the_workflow_file_does(
    client, db_session, make_user, create_case, registry, now
):
    case = create_case("sip")
    db_session.add(
        Reminder(
            kind=DEADLINE_SOON,
            dedupe_key="test-follow-up",
            case_id=case.id,
            topic="follow_up",
            template=DEADLINE_SOON,
            due_at=now,
            created_at=now,
        )
    )
    db_session.commit()
    topics = {r.topic for r in db_session.exec(select(Reminder)).all()}
    admin = make_user(None, roles="admin")
    login(client, admin.username)
    page = html.unescape(text_of(client.get("/admin/reminders/")))
    labels = {d.kind: d.label["sv"] for d in registry.latest("sip").deadlines}
    for topic in topics:
        assert f"({topic})" not in page
        assert f"({labels[topic]})" in page
    assert 'Tidsfrist närmar sig <span class="muted">(Uppföljning)</span>' in page


def test_the_workflows_page_names_the_dates_deadlines_count_from(client, make_user, registry):
    admin = make_user(None, roles="admin")
    login(client, admin.username)
    page = html.unescape(text_of(client.get("/admin/workflows")))
    assert "Kallelse: 21 dagar från dagen SIP:en begärdes" in page
    assert "Uppföljning: 0 dagar från det planerade uppföljningsdatumet" in page
    for workflow in registry.workflows():
        for deadline in workflow.deadlines:
            assert f"från {deadline.source_field}" not in page


def test_the_outbox_page_names_each_status(client, make_user):
    admin = make_user(None, roles="admin")
    login(client, admin.username)
    page = text_of(client.get("/dev/outbox"))
    for words in ("Väntar på att skickas", "Skickas", "Skickad", "Misslyckades", "Osäker"):
        assert words in page
