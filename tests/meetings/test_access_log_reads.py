"""The access log says what was read, and only that: the calendar feed and the answer page are reads of the
SIP; a page that refuses (404, 403) after the case was found writes no "allowed" row."""

from __future__ import annotations

from datetime import timedelta

import pytest
from meetingkit import invitation_of
from sqlmodel import select
from test_answers import link_path
from test_meeting_pages import feed_path
from webkit import login

from sipflow.clock import now_utc, to_local
from sipflow.db import unit_of_work
from sipflow.meetings import services
from sipflow.meetings.models import Meeting
from sipflow.meetings.tokens import make_answer_token
from sipflow.security import audit
from sipflow.security.audit import AccessLogEntry, verify_chain
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


def anonymous(client):
    """Another client, with no session: a calendar program or an invitee's browser."""
    return type(client)(client.application, client.application.response_class)


# --- The calendar feed ------------------------------------------------------------------------------------


def test_the_feed_logs_each_sip_once_a_swedish_day(client, db_session, parties, ready, book, frozen_clock):
    book()
    login(client, parties.region_user.username)
    path = feed_path(client)
    start = last_seq(db_session)
    program = anonymous(client)
    # A calendar program fetching every five minutes: one row for the SIP, that day.
    for _fetch in range(3):
        assert program.get(path).status_code == 200
        frozen_clock.advance(timedelta(minutes=5))
    rows = rows_after(db_session, start)
    assert [(r.action, r.user_id, r.case_id, r.person_id, r.outcome) for r in rows] == [
        ("meeting.feed", parties.region_user.id, ready.case.id, ready.case.person_id, "allowed")
    ]
    assert rows[0].organisation_id == parties.region.organisation_id
    # The next Swedish calendar day (midnight in Stockholm, not UTC): a new row.
    local = to_local(frozen_clock.advance(timedelta(0)))
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    frozen_clock.set(midnight - timedelta(minutes=1))
    assert program.get(path).status_code == 200
    assert len(rows_after(db_session, start)) == 1
    frozen_clock.set(midnight + timedelta(minutes=1))
    assert program.get(path).status_code == 200
    assert [r.action for r in rows_after(db_session, start)] == ["meeting.feed"] * 2
    assert verify_chain(db_session) == []
    # The person's loggutdrag says it in their words.
    labels = [row.action for row in extract_rows(db_session, ready.case.person_id)]
    assert labels.count("Såg SIP-mötet i sin kalender") == 2


def test_each_user_of_a_feed_is_logged_on_their_own(client, db_session, parties, ready, book):
    """The region's booker and the municipality's invited contact person each have their own day's row."""
    book()
    start = last_seq(db_session)
    for user in (parties.region_user, parties.municipality_user):
        browser = anonymous(client)
        login(browser, user.username)
        path = feed_path(browser)
        for _fetch in range(2):
            assert anonymous(client).get(path).status_code == 200
    rows = [r for r in rows_after(db_session, start) if r.action == audit.MEETING_FEED]
    assert sorted(r.user_id for r in rows) == sorted([parties.region_user.id, parties.municipality_user.id])


def test_a_feed_without_meetings_writes_nothing(client, db_session, parties, ready):
    login(client, parties.region_user.username)
    path = feed_path(client)
    start = last_seq(db_session)
    assert anonymous(client).get(path).status_code == 200
    assert rows_after(db_session, start) == []


def test_the_feeds_check_reads_its_own_index(db_session, parties, engine, create_case, now):
    """Which SIPs have the day's row: the user's feed rows of the day, from their own part of the index."""
    # The user's log as it is in use, many rows of other kinds beside the day's feed row, and statistics of
    # it: PostgreSQL chose by statistics an earlier test's emptied log left (ix_access_log_user_id at times).
    case = create_case()
    with unit_of_work(db_session):
        for minutes in range(40):
            audit.record_access(
                db_session,
                user=parties.region_user,
                action=audit.PERSON_LOOKUP,
                purpose="test",
                now=now - timedelta(minutes=minutes),
            )
        assert audit.record_feed(db_session, user=parties.region_user, cases=[case], now=now) == 1
    with engine.connect() as connection:
        connection.exec_driver_sql("ANALYZE access_log")
        connection.commit()
    statement = audit.feed_cases_logged_today(parties.region_user.id, now=now)
    connection = db_session.connection()
    sql = str(statement.compile(connection, compile_kwargs={"literal_binds": True}))
    if connection.dialect.name == "sqlite":
        plan = " ".join(row[-1] for row in connection.exec_driver_sql("EXPLAIN QUERY PLAN " + sql).all())
    else:
        connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
        plan = " ".join(row[0] for row in connection.exec_driver_sql("EXPLAIN " + sql).all())
    assert "ix_access_log_feed_user_id_at" in plan


# --- The answer page --------------------------------------------------------------------------------------


def test_the_answer_page_is_logged_as_a_read_through_the_invitation(app, client, db_session, ready, book):
    meeting = book()
    invitation = invitation_of(db_session, meeting, ready.relative)
    path = link_path(app, meeting, invitation)
    start = last_seq(db_session)
    invitee = anonymous(client)
    assert invitee.get(path).status_code == 200
    assert invitee.get(path).status_code == 200  # each showing, as a personal link's reads are
    rows = rows_after(db_session, start)
    assert [(r.action, r.user_id, r.case_id, r.person_id, r.link_id, r.outcome) for r in rows] == [
        ("meeting.link_view.narstaende", None, ready.case.id, ready.case.person_id, invitation.id, "allowed")
    ] * 2
    assert verify_chain(db_session) == []
    shown = [
        row for row in extract_rows(db_session, ready.case.person_id) if row.user.startswith("Svarslänk")
    ]
    assert [(row.user, row.action) for row in shown] == [
        (
            f"Svarslänk i inbjudan nr {invitation.id}",
            "En närstående läste SIP-mötet genom svarslänken i sin kallelse",
        )
    ] * 2


def test_the_loggutdrag_says_whose_answer_link_read_the_meeting(app, client, db_session, ready, book):
    """As for a personal link: the person reads that their närstående read the meeting (time, place, video
    link) through the närstående's own answer link, and their own reads are theirs, not "an invitee's"."""
    meeting = book()
    own = invitation_of(db_session, meeting, ready.person)
    relatives = invitation_of(db_session, meeting, ready.relative)
    staff = invitation_of(db_session, meeting, ready.municipality)
    start = last_seq(db_session)
    for invitation in (own, relatives, staff):
        assert anonymous(client).get(link_path(app, meeting, invitation)).status_code == 200
    assert [(r.action, r.link_id) for r in rows_after(db_session, start)] == [
        (audit.MEETING_LINK_VIEW_PERSON, own.id),
        (audit.MEETING_LINK_VIEW_NARSTAENDE, relatives.id),
        (audit.MEETING_LINK_VIEW, staff.id),
    ]
    shown = [
        row for row in extract_rows(db_session, ready.case.person_id) if row.user.startswith("Svarslänk")
    ]
    assert [row.action for row in shown] == [
        "Läste SIP-mötet genom svarslänken i sin kallelse",
        "En närstående läste SIP-mötet genom svarslänken i sin kallelse",
        "En inbjuden läste SIP-mötet genom svarslänken i sin kallelse",
    ]


def test_a_refused_answer_link_logs_no_read(app, client, db_session, ready, book):
    meeting = book()
    path = link_path(app, meeting, invitation_of(db_session, meeting, ready.relative))
    start = last_seq(db_session)
    assert anonymous(client).get(path[:-3] + "xyz").status_code == 400
    assert rows_after(db_session, start) == []


def refusal_rows(db_session, seq: int) -> list[tuple]:
    return [
        (r.action, r.user_id, r.case_id, r.person_id, r.link_id, r.outcome)
        for r in rows_after(db_session, seq)
    ]


def test_a_withdrawn_invitations_link_is_logged_as_refused_against_its_case(
    app, client, db_session, ready, book
):
    meeting = book()
    invitation = invitation_of(db_session, meeting, ready.relative)
    path = link_path(app, meeting, invitation)
    with unit_of_work(db_session):
        services.uninvite(db_session, ready.case, meeting, invitation, now=now_utc())
    start = last_seq(db_session)
    assert anonymous(client).get(path).status_code == 410
    # As a refused personal link: the case, no person, no user, the invitation as the link.
    assert refusal_rows(db_session, start) == [
        ("meeting.link_denied", None, ready.case.id, None, invitation.id, "denied")
    ]
    assert verify_chain(db_session) == []
    shown = [row for row in extract_rows(db_session, ready.case.person_id) if row.outcome == "nekad"]
    assert [(row.user, row.action, row.case_reference) for row in shown] == [
        (
            f"Svarslänk i inbjudan nr {invitation.id}",
            "Nekades åtkomst genom svarslänken i en kallelse som inte längre gäller",
            ready.case.reference,
        )
    ]


def test_an_expired_answer_link_is_logged_as_refused(app, client, db_session, ready, book, frozen_clock):
    meeting = book()
    invitation = invitation_of(db_session, meeting, ready.relative)
    expired = make_answer_token(
        app.config["SECRET_KEY"], invitation.id, invitation.token_nonce, meeting.ends_at
    )
    frozen_clock.set(meeting.ends_at + timedelta(minutes=1))
    start = last_seq(db_session)
    assert anonymous(client).get(f"/answer/{expired}").status_code == 410
    assert refusal_rows(db_session, start) == [
        ("meeting.link_denied", None, ready.case.id, None, invitation.id, "denied")
    ]


def test_a_forged_answer_link_naming_an_invitation_logs_nothing(app, client, db_session, ready, book):
    """Signed with another key, the token names nothing: a guess must not write rows against a SIP."""
    meeting = book()
    invitation = invitation_of(db_session, meeting, ready.relative)
    forged = make_answer_token("not the secret key", invitation.id, invitation.token_nonce, meeting.ends_at)
    start = last_seq(db_session)
    assert anonymous(client).get(f"/answer/{forged}").status_code == 400
    assert rows_after(db_session, start) == []


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
