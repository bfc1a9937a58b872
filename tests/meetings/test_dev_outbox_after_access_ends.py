"""The development outbox after a booker's right to the SIP ends: the invitations they sent go with it.

/dev/outbox shows a staff member the mails of the SIPs their organisation sees and the invitations of the
meetings they booked. A booker whose organisation no longer sees the SIP (the consent withdrawn for it, or
the booker moved to another organisation) must no longer read the invitations: their recipients (the
närstående's addresses), the meeting's time and place are the SIP's.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import support
from meetingkit import fire, next_week_at
from sqlmodel import select
from webkit import login, text_of

from sipflow.clock import now_utc
from sipflow.meetings.models import Meeting
from sipflow.notifications.models import OutboxMessage
from sipflow.notifications.outbox import OUTBOX_PENDING, deliver_due


@pytest.fixture
def file_sink(app, tmp_path):
    """The file sink writes the outbox into a folder of this test's own (app.config restored after)."""
    saved = {key: app.config[key] for key in ("OUTBOX_DIR", "SMTP_HOST")}
    app.config.update(OUTBOX_DIR=str(tmp_path / "outbox"), SMTP_HOST="")
    yield
    app.config.update(saved)


def _booked_by(db_session, registry, booker, ready) -> Meeting:
    starts_at = next_week_at(10)
    log = fire(
        db_session,
        registry,
        booker,
        ready.case,
        "send_kallelse",
        send_invitations=True,
        meeting_starts_at=starts_at,
        meeting_ends_at=starts_at + timedelta(hours=1),
        mode="video",
        invitee_ids=[ready.relative.id, ready.region.id, ready.municipality.id],
    )
    return db_session.get(Meeting, log.details["meeting_id"])


def _invitation_rows(db_session, meeting: Meeting) -> list[OutboxMessage]:
    return db_session.exec(
        select(OutboxMessage).where(
            OutboxMessage.case_id == meeting.case_id, OutboxMessage.recipient == "eva.andersson@example.se"
        )
    ).all()


def test_a_booker_moved_to_another_organisation_reads_none_of_the_sips_invitations(
    app, client, db_session, registry, parties, ready, file_sink, make_user
):
    booker = parties.region_user
    meeting = _booked_by(db_session, registry, booker, ready)
    deliver_due(app, now=now_utc())
    db_session.info.pop(OUTBOX_PENDING, None)
    rows = _invitation_rows(db_session, meeting)
    assert rows
    login(client, booker.username)
    assert "eva.andersson@example.se" in text_of(client.get("/dev/outbox"))  # while the region sees the SIP

    admin = make_user(None, roles="admin")
    support.move_user(db_session, registry, admin, booker, parties.outsider.id, now_utc())
    login(client, booker.username)  # the move ended the session

    listing = text_of(client.get("/dev/outbox"))
    assert "eva.andersson@example.se" not in listing
    for row in rows:
        name = f"{row.created_at.strftime('%Y%m%dT%H%M%SZ')}-{row.id}.eml"
        assert client.get(f"/dev/outbox/{name}").status_code == 404
        assert client.get(f"/dev/outbox/{name}/raw").status_code == 404
