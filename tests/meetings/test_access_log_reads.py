"""The access log says what was read, and only that: a page that refuses (404, 403) after the case was found
writes no "allowed" row."""

from __future__ import annotations

import pytest
from sqlmodel import select
from webkit import login

from sipflow.meetings.models import Meeting
from sipflow.security.audit import AccessLogEntry
from sipflow.security.extract import extract_rows


def rows_after(db_session, seq: int) -> list[AccessLogEntry]:
    db_session.expire_all()
    return list(
        db_session.exec(
            select(AccessLogEntry).where(AccessLogEntry.seq > seq).order_by(AccessLogEntry.seq)
        ).all()
    )


def last_seq(db_session) -> int:
    db_session.expire_all()
    found = db_session.exec(select(AccessLogEntry.seq).order_by(AccessLogEntry.seq.desc()).limit(1)).first()
    return found or 0


# --- Refusals after the case was found ----------------------------------------------------------------------


def test_another_sips_meeting_is_not_found_and_not_logged_as_read(
    client, db_session, parties, ready, book, create_case
):
    meeting = book()
    other = create_case()
    login(client, parties.region_user.username)
    start = last_seq(db_session)
    assert client.get(f"/cases/{other.uid}/meetings/{meeting.id}").status_code == 404
    assert client.get(f"/cases/{ready.case.uid}/meetings/{meeting.id + 1000}").status_code == 404
    assert rows_after(db_session, start) == []
    # The meeting's own address is a read, logged as one.
    assert client.get(f"/cases/{ready.case.uid}/meetings/{meeting.id}").status_code == 200
    assert [(r.action, r.case_id, r.outcome) for r in rows_after(db_session, start)] == [
        ("meeting.view", ready.case.id, "allowed")
    ]


def test_a_participant_of_no_such_id_is_not_logged_as_a_read(client, db_session, parties, ready):
    login(client, parties.region_user.username)
    start = last_seq(db_session)
    assert client.get(f"/cases/{ready.case.uid}/participants/999999/remove").status_code == 404
    assert rows_after(db_session, start) == []


@pytest.mark.parametrize("page", ["new", "outcome"])
def test_a_meeting_page_refused_by_the_users_part_is_logged_as_a_refusal(
    client, db_session, parties, ready, book, page
):
    """The municipality sees the SIP but may neither book nor record the meeting: a refused attempt."""
    book()
    login(client, parties.municipality_user.username)
    start = last_seq(db_session)
    assert client.get(f"/cases/{ready.case.uid}/meetings/{page}").status_code == 403
    rows = rows_after(db_session, start)
    assert [(r.action, r.outcome, r.case_id, r.person_id, r.user_id) for r in rows] == [
        ("access.denied", "denied", ready.case.id, None, parties.municipality_user.id)
    ]
    assert "Läste ett SIP-möte" not in [row.action for row in extract_rows(db_session, ready.case.person_id)]


def test_a_plan_pdf_of_a_sip_without_a_plan_is_not_logged_as_printed(client, db_session, parties, ready):
    login(client, parties.region_user.username)
    start = last_seq(db_session)
    for suffix in ("pdf", "pdf/large"):
        assert client.get(f"/cases/{ready.case.uid}/plan/versions/1/{suffix}").status_code == 404
    assert client.get(f"/cases/{ready.case.uid}/plan/versions/1").status_code == 404
    assert rows_after(db_session, start) == []
    assert "Skrev ut SIP-ärendet" not in [
        row.action for row in extract_rows(db_session, ready.case.person_id)
    ]


def test_pages_answered_still_log_their_reads(client, db_session, parties, ready):
    """A page answered (200, a redirect, a form refused) logs its read as before."""
    login(client, parties.region_user.username)
    start = last_seq(db_session)
    assert client.get(f"/cases/{ready.case.uid}/meetings/new").status_code == 200
    assert client.get(f"/cases/{ready.case.uid}").status_code == 200
    assert [(r.action, r.outcome) for r in rows_after(db_session, start)] == [
        ("meeting.view", "allowed"),
        ("case.view", "allowed"),
    ]
    assert db_session.exec(select(Meeting)).all() == []
