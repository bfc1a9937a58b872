"""Reminders end to end: written with the change, moved and cancelled with it, dispatched once."""

from __future__ import annotations

import email
import email.policy
import re
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

import support
from meetingkit import fire
from remkit import reminder_mails, reminders, tick
from sqlmodel import Session, select
from webkit import csrf_token, login

from sipflow.clock import local_to_utc
from sipflow.db import unit_of_work
from sipflow.meetings import services as meeting_services
from sipflow.meetings.booking import Booking
from sipflow.meetings.models import Invitation, Meeting
from sipflow.notifications.models import OutboxMessage
from sipflow.people.models import User
from sipflow.reminders.models import Reminder
from sipflow.reminders.services import claim_due, dispatch_due
from sipflow.scheduler import scheduler_command


def _utc(*parts) -> datetime:
    return datetime(*parts, tzinfo=UTC)


# FIXED_NOW is Monday 2 November 2026 09:00 UTC; book() puts the meeting a week on, 10:00 Swedish time.
MEETING = _utc(2026, 11, 9, 9, 0)
# A tick five minutes after the "meeting tomorrow" reminders fall due (on time, not late).
TICK = MEETING - timedelta(hours=24) + timedelta(minutes=5)


def test_booking_writes_a_meeting_tomorrow_reminder_per_invitee_and_one_for_the_booker(engine, book, ready):
    meeting = book()
    tomorrow = reminders(engine, kind="meeting_tomorrow")
    assert len(tomorrow) == 5
    assert {r.due_at for r in tomorrow} == {MEETING - timedelta(days=1)}
    assert {r.meeting_id for r in tomorrow} == {meeting.id}
    (unanswered,) = reminders(engine, kind="invitation_unanswered")
    assert unanswered.due_at == MEETING - timedelta(days=3)
    assert unanswered.recipient_user_id == meeting.booked_by_user_id


def test_a_meeting_booked_at_short_notice_does_not_tell_its_booker_at_once_that_nobody_answered(
    app, engine, book, ready
):
    # Booked two days ahead: the "unanswered" reminder (three days before) would be due before the
    # invitations went out, and the next tick would mail the booker about invitations sent a minute ago.
    starts_at = support.FIXED_NOW + timedelta(days=2)
    book(meeting_starts_at=starts_at, meeting_ends_at=starts_at + timedelta(hours=1))
    assert reminders(engine, kind="invitation_unanswered") == []
    assert len(reminders(engine, kind="meeting_tomorrow")) == 5
    tick(app, support.FIXED_NOW + timedelta(minutes=5))
    assert not any(r.kind == "invitation_unanswered" for r in reminders(engine, status="sent"))


def test_a_meeting_booked_for_later_the_same_day_gets_no_meeting_tomorrow_reminder(app, engine, book, ready):
    # Booked at 10:00 Swedish time for 10:40 the same day: the day-before moment passed before the booking,
    # and the next tick must not tell every invitee the meeting is "tomorrow".
    starts_at = support.FIXED_NOW + timedelta(minutes=40)
    book(meeting_starts_at=starts_at, meeting_ends_at=starts_at + timedelta(minutes=30))
    report = tick(app, support.FIXED_NOW + timedelta(minutes=1))
    assert report.sent == 0
    assert {r.status for r in reminders(engine, kind="meeting_tomorrow")} == {"skipped"}
    assert reminder_mails(engine) == []


def test_a_meeting_booked_the_day_before_gets_no_reminder_on_top_of_its_invitation(app, engine, book, ready):
    # Booked on Monday at 10:00 for Tuesday at 08:00: the invitation just went out; a "tomorrow" reminder a
    # minute later (its moment, Monday 08:00, passed before the booking) would only repeat it.
    starts_at = local_to_utc(datetime(2026, 11, 3, 8, 0))
    book(meeting_starts_at=starts_at, meeting_ends_at=starts_at + timedelta(hours=1))
    tick(app, support.FIXED_NOW + timedelta(minutes=1))
    assert {r.status for r in reminders(engine, kind="meeting_tomorrow")} == {"skipped"}
    assert reminder_mails(engine) == []


def test_a_meeting_moved_to_today_gets_no_meeting_tomorrow_reminder(app, engine, db_session, book, ready):
    # Booked a week ahead (its reminders written then), moved on the day to start in two hours: the pending
    # reminders take a moment in the past and would say "tomorrow" about a meeting today.
    meeting = book()
    starts_at = support.FIXED_NOW + timedelta(hours=2)
    with unit_of_work(db_session):
        meeting_services.change_meeting(
            db_session,
            ready.case,
            meeting,
            Booking(starts_at, starts_at + timedelta(hours=1), meeting.mode, None, None),
            now=support.FIXED_NOW,
        )
    tick(app, support.FIXED_NOW + timedelta(minutes=1))
    assert {r.status for r in reminders(engine, kind="meeting_tomorrow")} == {"skipped"}
    assert reminder_mails(engine) == []


def test_a_meeting_tomorrow_reminder_the_scheduler_missed_until_the_meeting_day_is_skipped(
    app, engine, book, ready
):
    # The scheduler was down from before the reminders' moment until the morning of the meeting.
    book()
    tick(app, MEETING - timedelta(hours=2))
    assert {r.status for r in reminders(engine, kind="meeting_tomorrow")} == {"skipped"}


def test_a_meeting_moved_to_short_notice_drops_its_pending_unanswered_reminder(
    app, engine, db_session, book, ready
):
    meeting = book()
    assert len(reminders(engine, kind="invitation_unanswered", status="pending")) == 1
    starts_at = support.FIXED_NOW + timedelta(days=1, hours=2)
    with unit_of_work(db_session):
        meeting_services.change_meeting(
            db_session,
            ready.case,
            meeting,
            Booking(starts_at, starts_at + timedelta(hours=1), meeting.mode, None, None),
            now=support.FIXED_NOW,
        )
    # Everyone is asked again just now: no reminder tells the booker at once that nobody answered.
    assert reminders(engine, kind="invitation_unanswered", status="pending") == []


def test_the_dispatcher_run_twice_sends_every_reminder_once(app, engine, book, ready):
    book()
    first = tick(app, TICK)
    second = tick(app, MEETING - timedelta(hours=22))
    assert (first.sent, second.sent) == (5, 0)  # four invitees with an address and the booker
    mails = reminder_mails(engine)
    assert len(mails) == 5
    sent = reminders(engine, status="sent")
    assert sorted(r.outbox_id for r in sent) == sorted(m.id for m in mails)
    assert len(sent) == 5 and all(r.outbox_id for r in sent)
    assert not any(r.late for r in sent if r.kind == "meeting_tomorrow")


def test_an_invitees_meeting_tomorrow_carries_their_answer_link(app, engine, client, book, ready):
    # Whoever has not answered yet can answer from the reminder; the link opens their own answer page.
    meeting = book()
    tick(app, TICK)
    with Session(engine) as session:
        invitations = {
            i.id: i for i in session.exec(select(Invitation).where(Invitation.meeting_id == meeting.id))
        }
        sent = [r for r in reminders(engine, kind="meeting_tomorrow", status="sent") if r.invitation_id]
        assert sent
        for row in sent:
            mail = session.get(OutboxMessage, row.outbox_id)
            text = email.message_from_string(mail.message, policy=email.policy.default).get_content()
            link = re.search(r"https?://\S+(/answer/\S+)", text)
            assert link, text
            assert mail.recipient == invitations[row.invitation_id].email
            assert client.get(link.group(1)).status_code == 200


def test_replying_to_a_meeting_tomorrow_reminder_reaches_a_person(app, engine, parties, book, ready):
    """An invitee who answers the reminder by plain mail ('I am ill, I cannot come') must reach a person, as a
    reply to the invitation does: the reminder names the booker as Reply-To, not only sipflow's sender
    address, which reads calendar answers alone."""
    book()
    tick(app, TICK)
    with Session(engine) as session:
        sent = [r for r in reminders(engine, kind="meeting_tomorrow", status="sent") if r.invitation_id]
        assert sent
        for row in sent:
            mail = session.get(OutboxMessage, row.outbox_id)
            assert email.message_from_string(mail.message)["Reply-To"] == parties.region_user.email


def test_an_invitee_without_e_mail_is_recorded_undeliverable_and_shown_on_the_case(
    app, engine, client, parties, book, ready
):
    book()
    tick(app, TICK)
    (undeliverable,) = reminders(engine, status="undeliverable")
    assert undeliverable.kind == "meeting_tomorrow"
    login(client, parties.region_user.username)
    page = client.get(f"/cases/{ready.case.uid}").get_data(as_text=True)
    assert "Påminnelser" in page
    assert "Kan inte levereras" in page


def test_an_invitee_who_declines_is_not_reminded_of_the_meeting_and_one_who_takes_it_back_is(
    app, engine, db_session, book, ready
):
    meeting = book()
    booker = db_session.get(User, meeting.booked_by_user_id)  # reminded as the booker whatever they answer
    invitations = sorted(
        (
            i
            for i in db_session.exec(select(Invitation).where(Invitation.meeting_id == meeting.id))
            if i.email and i.email != booker.email
        ),
        key=lambda i: i.id,
    )
    declining = invitations[0]

    def answer(partstat: str) -> None:
        with unit_of_work(db_session):
            meeting_services.record_answer(
                db_session,
                db_session.get(Meeting, meeting.id),
                db_session.get(Invitation, declining.id),
                partstat=partstat,
                answer_mode=None,
                comment=None,
                via="web",
                now=support.FIXED_NOW,
            )

    def tomorrow_for_the_decliner(status: str) -> list[Reminder]:
        return reminders(engine, kind="meeting_tomorrow", invitation_id=declining.id, status=status)

    answer("DECLINED")
    assert tomorrow_for_the_decliner("cancelled") and not tomorrow_for_the_decliner("pending")
    answer("ACCEPTED")  # taken back: the reminder is wanted again, and it never went out
    assert tomorrow_for_the_decliner("pending") and not tomorrow_for_the_decliner("cancelled")
    answer("DECLINED")
    tick(app, TICK)
    recipients = [m.recipient for m in reminder_mails(engine)]
    assert declining.email not in recipients
    assert len(recipients) == 4  # five without the decline (the booker included)


def test_a_moved_meeting_moves_its_pending_reminders(app, engine, db_session, book, ready):
    meeting = book()
    before = {r.id for r in reminders(engine, status="pending", kind="meeting_tomorrow")}
    later = MEETING + timedelta(days=2)
    with unit_of_work(db_session):
        moved = meeting_services.change_meeting(
            db_session,
            ready.case,
            db_session.get(Meeting, meeting.id),
            Booking(later, later + timedelta(hours=1), "video", None, None),
            now=support.FIXED_NOW,
        )
    assert moved
    pending = reminders(engine, status="pending", kind="meeting_tomorrow")
    assert {r.id for r in pending} == before
    assert {r.due_at for r in pending} == {later - timedelta(days=1)}
    assert not reminders(engine, status="cancelled", kind="meeting_tomorrow")


def test_a_cancelled_meeting_and_an_ended_case_cancel_their_reminders(
    app, engine, db_session, registry, parties, book, ready
):
    meeting = book()
    with unit_of_work(db_session):
        meeting_services.cancel_meeting(
            db_session, ready.case, db_session.get(Meeting, meeting.id), now=support.FIXED_NOW
        )
    assert not reminders(engine, status="pending", meeting_id=meeting.id)
    assert reminders(engine, status="cancelled", meeting_id=meeting.id)
    fire(db_session, registry, parties.region_user, ready.case, "withdraw_consent", reason="Vill inte")
    assert not reminders(engine, status="pending")


def test_the_meeting_tomorrow_reminder_keeps_the_wall_clock_across_summer_time(engine, book, ready):
    # Sunday 28 March 2027 is the spring change: the meeting at 10:00 CEST is reminded of on Saturday at
    # 10:00 CET, 23 hours before. Sunday 31 October 2027 the autumn one: 10:00 CET, reminded at 10:00 CEST.
    for first, (local, reminded_utc) in enumerate(
        (
            (datetime(2027, 3, 28, 10, 0), _utc(2027, 3, 27, 9, 0)),
            (datetime(2027, 10, 31, 10, 0), _utc(2027, 10, 30, 8, 0)),
        )
    ):
        starts = local_to_utc(local)
        # Both Sundays: booked and moved with the day confirmed, as after the day-off warning.
        if first == 0:
            book(
                meeting_starts_at=starts,
                meeting_ends_at=starts + timedelta(hours=1),
                confirmed_day=local.date(),
            )
        else:
            with Session(engine) as session, unit_of_work(session):
                meeting_services.change_meeting(
                    session,
                    ready.case,
                    session.exec(select(Meeting)).one(),
                    Booking(starts, starts + timedelta(hours=1), "video", None, None),
                    now=support.FIXED_NOW,
                    confirmed_day=local.date(),
                )
        due = {r.due_at for r in reminders(engine, status="pending", kind="meeting_tomorrow")}
        assert due == {reminded_utc}, local


def test_the_scheduler_down_two_days_sends_the_missed_once_late_and_skips_the_stale(app, engine, ready):
    # The kallelse deadline (21 days from the request, 23 November 09:00 UTC) is still open. With the
    # scheduler down until the 25th: "soon" and "due today" no longer make sense, "passed" is sent late.
    runner = app.test_cli_runner()
    for _ in range(2):
        result = runner.invoke(
            scheduler_command,
            ["--once", "--now", "2026-11-25T12:00:00Z", "--job", "reminders", "--job", "outbox"],
        )
        assert result.exit_code == 0, result.output
    by_kind = {r.kind: r for r in reminders(engine) if r.deadline_id is not None and r.recipient_user_id}
    assert by_kind["deadline_soon"].status == "skipped"
    assert by_kind["deadline_due"].status == "skipped"
    missed = by_kind["deadline_missed"]
    assert (missed.status, missed.late) == ("sent", True)
    mails = Counter(m.recipient for m in reminder_mails(engine))
    assert mails == Counter({missed_address(engine, missed): 1})


def missed_address(engine, reminder: Reminder) -> str:
    from sipflow.people.models import User

    with Session(engine) as session:
        return session.get(User, reminder.recipient_user_id).email


def test_a_meeting_tomorrow_reminder_for_a_meeting_that_has_begun_is_skipped(app, engine, book, ready):
    book()
    report = tick(app, MEETING + timedelta(hours=1))
    assert report.sent == 0
    assert {r.status for r in reminders(engine, kind="meeting_tomorrow")} == {"skipped"}
    assert not reminder_mails(engine)


def test_now_needs_once_and_an_instant_with_its_zone(app):
    runner = app.test_cli_runner()
    assert runner.invoke(scheduler_command, ["--now", "2027-01-15T08:00:00Z"]).exit_code != 0
    assert runner.invoke(scheduler_command, ["--once", "--now", "2027-01-15T08:00:00"]).exit_code != 0
    assert runner.invoke(scheduler_command, ["--once", "--now", "tomorrow"]).exit_code != 0


def test_a_claim_left_by_a_crashed_dispatcher_is_released_after_the_timeout(app, engine, book, ready):
    book()
    at = TICK
    with Session(engine) as session:
        row = session.exec(select(Reminder).where(Reminder.kind == "invitation_unanswered")).one()
        row.status, row.claimed_at, row.claimed_by = "claimed", at - timedelta(hours=1), "dead-process"
        session.add(row)
        session.commit()
    report = tick(app, at)
    assert report.released == 1
    (row,) = reminders(engine, kind="invitation_unanswered")
    assert row.status == "sent"


def test_a_claim_takes_no_more_than_its_limit(app, engine, book, ready):
    """On PostgreSQL the claim's `IN (SELECT ... LIMIT n FOR UPDATE SKIP LOCKED)` may run again for each row
    the UPDATE scans, each run skipping the rows just claimed: a claim of one could take every due row."""
    book()
    with Session(engine) as session:
        assert len(claim_due(session, now=TICK, worker="probe", limit=1)) == 1
        session.rollback()


def test_two_dispatchers_at_once_send_no_reminder_twice(app, engine, book, ready):
    book()
    at = TICK
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def dispatcher() -> None:
        try:
            with app.app_context(), Session(engine, expire_on_commit=False) as session:
                start.wait()
                with unit_of_work(session):
                    dispatch_due(session, app.extensions["sipflow.workflows"], now=at)
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=dispatcher) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    tick(app, at)  # whatever a loser of a race left is sent now, once
    mails = reminder_mails(engine)
    assert len(mails) == 5
    sent = reminders(engine, status="sent")
    assert sorted(r.outbox_id for r in sent) == sorted(m.id for m in mails)


def test_a_real_smtp_server_receives_the_reminders_without_the_persons_name(
    smtp_app, smtp_server, book, ready
):
    book()
    smtp_server.clear()  # the invitations
    tick(smtp_app, TICK)
    received = smtp_server.received
    assert len(received) == 5
    for mail in received:
        assert ready.case.reference in mail.message["Subject"]
        text = mail.raw.decode("ascii", "replace")
        assert "Andersson" not in text and "Eva" not in mail.message["Subject"]


def test_a_reminder_comes_from_the_same_named_sender_as_the_invitation(smtp_app, smtp_server, book, ready):
    # A reminder from a bare address beside an invitation from "SIP, <organisation>" looks like a stranger.
    book()
    invitation_senders = {str(mail.message["From"]) for mail in smtp_server.received}
    smtp_server.clear()
    tick(smtp_app, TICK)
    reminder_senders = {str(mail.message["From"]) for mail in smtp_server.received}
    assert len(invitation_senders) == 1
    assert reminder_senders == invitation_senders
    (name,) = {mail.message["From"].addresses[0].display_name for mail in smtp_server.received}
    assert name.startswith(smtp_app.config["MAIL_FROM_NAME"] + ", ")


def test_the_administration_lists_reminders_and_sends_a_failed_one_again(
    app, engine, client, make_user, parties, book, ready
):
    book()
    with Session(engine) as session:
        row = session.exec(select(Reminder).where(Reminder.kind == "invitation_unanswered")).one()
        row.status, row.last_error = "failed", "SMTPDataError"
        session.add(row)
        session.commit()
        row_id = row.id
    admin = make_user(parties.region, roles="admin")
    login(client, admin.username)
    page = client.get("/admin/reminders/?status=failed").get_data(as_text=True)
    assert "SMTPDataError" in page
    upcoming = client.get("/admin/reminders/")
    assert upcoming.status_code == 200
    token = csrf_token(page)
    answer = client.post(f"/admin/reminders/{row_id}/retry", data={"csrf_token": token, "status": "failed"})
    assert answer.status_code == 302
    (row,) = reminders(engine, id=row_id)
    assert row.status == "pending"


def test_an_undeliverable_reminder_of_an_invitee_called_another_way_is_not_offered_again(
    app, engine, client, make_user, parties, book, ready
):
    # Olle has no e-mail address and is invited by phone or letter: sending his reminder again could only
    # make it undeliverable again, so neither the list nor the retry offers it.
    book()
    tick(app, TICK)
    (row,) = reminders(engine, status="undeliverable")
    admin = make_user(parties.region, roles="admin")
    login(client, admin.username)
    page = client.get("/admin/reminders/?status=undeliverable").get_data(as_text=True)
    assert f"/admin/reminders/{row.id}/retry" not in page
    answer = client.post(
        f"/admin/reminders/{row.id}/retry", data={"csrf_token": csrf_token(page), "status": "undeliverable"}
    )
    assert answer.status_code == 302
    (row,) = reminders(engine, id=row.id)
    assert row.status == "undeliverable"


def test_staff_are_refused_the_reminder_administration(client, parties):
    login(client, parties.region_user.username)
    assert client.get("/admin/reminders/").status_code == 403


def test_a_reminder_that_cannot_be_rendered_fails_alone_and_names_only_the_error_class(
    app, engine, book, ready
):
    book()
    with Session(engine) as session:
        row = session.exec(select(Reminder).where(Reminder.kind == "invitation_unanswered")).one()
        row.template = "no_such_template"
        session.add(row)
        session.commit()
    report = tick(app, TICK)
    assert (report.sent, report.failed) == (4, 1)
    (failed,) = reminders(engine, status="failed")
    assert (failed.last_error, failed.attempts) == ("TemplateNotFound", 1)
