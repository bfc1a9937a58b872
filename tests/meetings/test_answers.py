"""Answers without an account: the signed answer link, and iTIP REPLY objects posted to sipflow."""

from __future__ import annotations

import email
import email.policy
import re
from datetime import timedelta

import pytest
from meetingkit import ITIP_SECRET, invitation_of, reply_ics, reply_mail
from sqlmodel import select
from webkit import csrf_token, text_of

from sipflow.clock import now_utc, to_local
from sipflow.db import unit_of_work
from sipflow.meetings import services
from sipflow.meetings.messages import answer_url, moment_text, span_text
from sipflow.meetings.models import Invitation
from sipflow.meetings.tokens import make_answer_token
from sipflow.notifications.models import OutboxMessage
from sipflow.people.models import Person
from sipflow.security import audit
from sipflow.security.audit import AccessLogEntry


def link_path(app, meeting, invitation) -> str:
    """The invitee's answer link, as a path on the test client."""
    return answer_url(meeting, invitation).removeprefix(app.config["PUBLIC_URL"])


def opened(client, path) -> dict[str, str]:
    """The answer page's hidden fields as the invitee's browser holds them: CSRF token and version shown."""
    page = text_of(client.get(path))
    hidden = {"csrf_token": csrf_token(page)}
    if version := re.search(r'name="version"[^>]*value="(\d+)"', page):
        hidden["version"] = version.group(1)
    return hidden


def answer(client, path, **fields):
    """Answer through the page as the invitee's browser does: the saved answer redirects to the page again."""
    return client.post(path, data={**opened(client, path), **fields}, follow_redirects=True)


def checked(page: str, name: str) -> str | None:
    """The value of the radio button named name that the page has checked."""
    for tag in re.findall(r"<input[^>]*>", page):
        if f'name="{name}"' in tag and re.search(r"\schecked[\s>=]", tag):
            return re.search(r'value="([^"]*)"', tag).group(1)
    return None


def text_part_of(raw: str) -> str:
    """The plain-text part of an outbox message."""
    message = email.message_from_string(raw)
    (part,) = [p for p in message.walk() if p.get_content_type() == "text/plain"]
    return part.get_payload(decode=True).decode()


def test_the_link_shows_the_meeting_without_the_person_and_takes_a_yes(app, client, db_session, ready, book):
    meeting = book(mode="mixed", location="Storgatan 1", room="Rum 3")
    invitation = invitation_of(db_session, meeting, ready.relative)
    path = link_path(app, meeting, invitation)
    page = text_of(client.get(path))
    person = db_session.get(Person, ready.case.person_id)
    assert ready.case.reference in page and "Storgatan 1, Rum 3" in page and meeting.video_url in page
    assert person.given_name not in page and person.family_name not in page
    response = answer(client, path, partstat="ACCEPTED", answer_mode="phone", comment="Jag ringer in")
    assert response.status_code == 200
    assert "Tack, ditt svar är sparat: Ja, jag kommer." in text_of(response)
    saved = invitation_of(db_session, meeting, ready.relative)
    assert (saved.partstat, saved.answer_mode, saved.comment, saved.answered_via) == (
        "ACCEPTED",
        "phone",
        "Jag ringer in",
        "link",
    )
    # A second answer through the same link replaces the first.
    answer(client, path, partstat="DECLINED", comment="Blev sjuk")
    saved = invitation_of(db_session, meeting, ready.relative)
    assert (saved.partstat, saved.answer_mode, saved.comment) == ("DECLINED", None, "Blev sjuk")


def test_a_no_is_said_tackat_nej_as_swedish_calendars_say_it_on_the_answer_and_case_pages(
    app, client, db_session, ready, book, parties
):
    # "Nekat" is a consent refused; an invitee who cannot come has "tackat nej" (Outlook's word too).
    from webkit import login

    meeting = book()
    path = link_path(app, meeting, invitation_of(db_session, meeting, ready.relative))
    response = answer(client, path, partstat="DECLINED", comment="Bortrest")
    # The invitee's own page says it back as they chose it; the staff's pages say "Tackat nej".
    assert "Tack, ditt svar är sparat: Nej, jag kan inte komma." in text_of(response)
    assert "Ditt svar hittills: Nej, jag kan inte komma." in text_of(client.get(path))
    staff = type(client)(app, app.response_class, use_cookies=True)
    login(staff, parties.region_user.username)
    case_page = text_of(staff.get(f"/cases/{ready.case.uid}"))
    meeting_page = text_of(staff.get(f"/cases/{ready.case.uid}/meetings/{meeting.id}"))
    for page in (case_page, meeting_page):
        assert "Tackat nej" in page and "Nekat" not in page
    english = text_of(client.get(f"{path}?lang=en"))
    assert "Your answer so far: No, I cannot come." in english


def test_yes_without_a_way_of_taking_part_is_an_error_beside_the_field(app, client, db_session, ready, book):
    meeting = book()
    invitation = invitation_of(db_session, meeting, ready.relative)
    path = link_path(app, meeting, invitation)
    response = answer(client, path, partstat="TENTATIVE")
    assert response.status_code == 400
    assert 'id="answer_mode-error"' in text_of(response) and "Välj hur du deltar." in text_of(response)
    # On site is no way to attend a video meeting.
    response = answer(client, path, partstat="ACCEPTED", answer_mode="on_site")
    assert response.status_code == 400
    assert invitation_of(db_session, meeting, ready.relative).partstat == "NEEDS-ACTION"


def test_the_answer_shows_on_the_case_page(app, client, db_session, ready, book, parties):
    from webkit import login

    meeting = book()
    path = link_path(app, meeting, invitation_of(db_session, meeting, ready.relative))
    answer(client, path, partstat="TENTATIVE", answer_mode="video", comment="Beror på jobbet")
    staff = type(client)(app, app.response_class, use_cookies=True)
    login(staff, parties.region_user.username)
    page = text_of(staff.get(f"/cases/{ready.case.uid}"))
    assert "Kanske" in page and "Beror på jobbet" in page and "Skickad" in page
    assert "Kallas på annat sätt" in page  # the brother without an address


def test_an_answer_page_opened_before_the_meeting_moved_is_refused_with_the_new_time_and_keeps_the_typing(
    app, client, db_session, ready, book
):
    """An answer counts only for the version it was given to: a form shown at the old time is no yes to the
    new one. The page shows the new time, says the meeting changed and keeps what was typed."""
    meeting = book()
    invitation = invitation_of(db_session, meeting, ready.relative)
    path = link_path(app, meeting, invitation)
    # Worded as the kallelse words it: "måndag 9 november 2026 kl. 10:00–11:00 (svensk tid)".
    old_start = moment_text(meeting.starts_at)
    assert old_start in text_of(client.get(path))
    form = opened(client, path)
    later = meeting.starts_at + timedelta(days=1)
    with unit_of_work(db_session):
        services.change_meeting(
            db_session,
            ready.case,
            meeting,
            services.Booking(later, later + timedelta(hours=1), "video", None, None),
            now=now_utc(),
        )
    response = client.post(
        path, data={**form, "partstat": "ACCEPTED", "answer_mode": "video", "comment": "Ja, den dagen passar"}
    )
    assert response.status_code == 409
    page = text_of(response)
    assert "Mötet har ändrats sedan du öppnade sidan." in page and "Tack, ditt svar är sparat" not in page
    new_start = moment_text(later)
    assert new_start in page and old_start not in page
    assert "Ja, den dagen passar</textarea>" in page
    assert checked(page, "partstat") == "ACCEPTED" and checked(page, "answer_mode") == "video"
    saved = invitation_of(db_session, meeting, ready.relative)
    assert (saved.partstat, saved.comment, saved.answered_at) == ("NEEDS-ACTION", None, None)
    # The refused page carries the new version: sending it again is an answer to the new time.
    again = answer(client, path, partstat="ACCEPTED", answer_mode="video")
    assert again.status_code == 200 and "Tack, ditt svar är sparat: Ja, jag kommer." in text_of(again)
    saved = invitation_of(db_session, meeting, ready.relative)
    assert (saved.partstat, saved.answered_sequence) == ("ACCEPTED", meeting.sequence)


def test_a_page_opened_before_the_meeting_moved_on_site_posting_video_is_told_the_meeting_changed(
    app, client, db_session, ready, book
):
    """The way of taking part the old page offered (video) is gone after the move on site: the invitee is told
    the meeting changed (409, as for any stale answer), not that the choice is invalid; the comment stays."""
    meeting = book()
    invitation = invitation_of(db_session, meeting, ready.relative)
    path = link_path(app, meeting, invitation)
    form = opened(client, path)
    with unit_of_work(db_session):
        services.change_meeting(
            db_session,
            ready.case,
            meeting,
            services.Booking(meeting.starts_at, meeting.ends_at, "on_site", "Storgatan 1", None),
            now=now_utc(),
        )
    response = client.post(
        path, data={**form, "partstat": "ACCEPTED", "answer_mode": "video", "comment": "Jag kommer gärna"}
    )
    assert response.status_code == 409
    page = text_of(response)
    assert "Mötet har ändrats sedan du öppnade sidan." in page and "Inte ett giltigt val" not in page
    assert "Jag kommer gärna</textarea>" in page and checked(page, "partstat") == "ACCEPTED"
    saved = invitation_of(db_session, meeting, ready.relative)
    assert (saved.partstat, saved.answered_at) == ("NEEDS-ACTION", None)
    # The refused page carries the new version: choosing a way offered now is an answer to the new meeting.
    again = answer(client, path, partstat="ACCEPTED", answer_mode="on_site")
    assert again.status_code == 200 and "Tack, ditt svar är sparat" in text_of(again)


def test_a_way_of_taking_part_the_meeting_never_offered_is_refused_beside_the_field(
    app, client, db_session, ready, book
):
    meeting = book()  # by video
    path = link_path(app, meeting, invitation_of(db_session, meeting, ready.relative))
    response = answer(client, path, partstat="ACCEPTED", answer_mode="on_site")
    assert response.status_code == 400 and "Mötet har ändrats" not in text_of(response)


def test_the_answer_page_says_the_link_works_until_the_meeting_is_over(app, client, db_session, ready, book):
    meeting = book()
    path = link_path(app, meeting, invitation_of(db_session, meeting, ready.relative))
    page = text_of(answer(client, path, partstat="DECLINED"))
    assert "Du kan ändra det med samma länk tills mötet är över." in page and "fram till mötet" not in page
    client.get(f"{path}?lang=en")
    page = text_of(answer(client, path, partstat="DECLINED"))
    assert "You can change it with the same link until the meeting is over." in page


def test_invitation_update_and_cancellation_mails_say_where_the_details_are_in_good_swedish(
    db_session, ready, book
):
    meeting = book()
    later = meeting.starts_at + timedelta(days=1)
    with unit_of_work(db_session):
        services.change_meeting(
            db_session,
            ready.case,
            meeting,
            services.Booking(later, later + timedelta(hours=1), "video", None, None),
            now=now_utc(),
        )
    with unit_of_work(db_session):
        services.cancel_meeting(db_session, ready.case, meeting, now=now_utc())
    # Staff can look the SIP up in sipflow; a närstående, who cannot, is told whom to ask instead.
    for participant, said in (
        (ready.municipality, "inga uppgifter om personen; de finns i sipflow"),
        (ready.relative, "Har du frågor om mötet?"),
    ):
        invitation = invitation_of(db_session, meeting, participant)
        rows = db_session.exec(
            select(OutboxMessage).where(OutboxMessage.invitation_id == invitation.id)
        ).all()
        assert len(rows) == 3
        for row in rows:
            text = text_part_of(row.message)
            assert said in text and "dem finns" not in text


@pytest.mark.parametrize("damage", ["flip", "truncate", "other-secret", "garbage", "trailing", "padding"])
def test_a_tampered_link_is_refused_and_changes_nothing(app, client, db_session, ready, book, damage):
    meeting = book()
    invitation = invitation_of(db_session, meeting, ready.relative)
    path = link_path(app, meeting, invitation)
    token = path.removeprefix("/answer/")
    if damage == "flip":
        token = token[:-3] + ("A" if token[-3] != "A" else "B") + token[-2:]
    elif damage == "truncate":
        token = token[:-6]
    elif damage == "other-secret":
        token = make_answer_token(
            "another-secret-key-entirely", invitation.id, invitation.token_nonce, meeting.ends_at
        )
    elif damage == "trailing":
        # Base64 decoding skips what is not in its alphabet: the link must be the one mailed, exactly.
        token += "%C3%A5"
    elif damage == "padding":
        token += "=="
    else:
        token = "not-a-token"
    response = client.get(f"/answer/{token}")
    assert response.status_code == 400
    assert "Länken är inte giltig" in text_of(response)
    post = client.post(f"/answer/{token}", data={"partstat": "ACCEPTED", "answer_mode": "video"})
    assert post.status_code == 400
    assert invitation_of(db_session, meeting, ready.relative).partstat == "NEEDS-ACTION"


def test_an_expired_link_is_refused(app, client, db_session, ready, book, frozen_clock):
    meeting = book()
    invitation = invitation_of(db_session, meeting, ready.relative)
    expired = make_answer_token(
        app.config["SECRET_KEY"], invitation.id, invitation.token_nonce, meeting.ends_at
    )
    frozen_clock.set(meeting.ends_at + timedelta(minutes=1))
    response = client.get(f"/answer/{expired}")
    assert response.status_code == 410 and "Länken har gått ut" in text_of(response)


def test_the_first_link_still_works_after_the_meeting_moved_later(
    app, client, db_session, ready, book, frozen_clock
):
    """The link in the first invitation was signed to expire at the meeting's end as booked; once the
    meeting moved later, that link must keep working until the meeting (as it is now) is over, as the
    page promises, instead of saying the meeting is over."""
    meeting = book()
    invitation = invitation_of(db_session, meeting, ready.relative)
    first_link = link_path(app, meeting, invitation)
    booked_end = meeting.ends_at
    later = meeting.starts_at + timedelta(days=14)
    with unit_of_work(db_session):
        services.change_meeting(
            db_session,
            ready.case,
            meeting,
            services.Booking(later, later + timedelta(hours=1), "video", None, None),
            now=now_utc(),
        )
    frozen_clock.set(booked_end + timedelta(days=1))  # past the old end, before the new start
    page = client.get(first_link)
    assert page.status_code == 200 and "Länken har gått ut" not in text_of(page)
    response = answer(client, first_link, partstat="ACCEPTED", answer_mode="video")
    assert response.status_code == 200 and "Tack, ditt svar är sparat: Ja, jag kommer." in text_of(response)
    assert invitation_of(db_session, meeting, ready.relative).partstat == "ACCEPTED"
    # Once the meeting as it is now is over, every link of it has expired, whatever expiry it carries.
    frozen_clock.set(later + timedelta(hours=2))
    response = client.get(first_link)
    assert response.status_code == 410 and "Länken har gått ut" in text_of(response)


def test_a_link_expires_when_the_meeting_moved_earlier_is_over(
    app, client, db_session, ready, book, frozen_clock
):
    meeting = book()
    invitation = invitation_of(db_session, meeting, ready.relative)
    first_link = link_path(app, meeting, invitation)
    earlier = meeting.starts_at - timedelta(days=2)
    with unit_of_work(db_session):
        services.change_meeting(
            db_session,
            ready.case,
            meeting,
            services.Booking(earlier, earlier + timedelta(hours=1), "video", None, None),
            now=now_utc(),
            confirmed_day=to_local(earlier).date(),  # a Saturday
        )
    frozen_clock.set(earlier + timedelta(hours=2))  # the moved meeting is over; the old end is still ahead
    response = client.get(first_link)
    assert response.status_code == 410 and "Länken har gått ut" in text_of(response)


def test_a_dead_answer_link_says_where_to_turn(app, client, db_session, ready, book):
    """An invitation withdrawn, or sent again (to a corrected address, renewed), ends the link of the earlier
    mail: its page points to a newer mail's link, and says how to reach the one who booked (a reply to the
    invitation e-mail reaches a person), not only "ask the one who booked the meeting", whom the invitee
    cannot name."""
    meeting = book()
    invitation = invitation_of(db_session, meeting, ready.relative)
    path = link_path(app, meeting, invitation)
    with unit_of_work(db_session):
        services.uninvite(db_session, ready.case, meeting, invitation, now=now_utc())
    page = text_of(client.get(path))
    assert "Har du fått ett nyare e-postmeddelande om mötet, använd länken i det." in page
    assert "svara på e-postmeddelandet med kallelsen" in page


def test_a_withdrawn_invitation_kills_its_link(app, client, db_session, ready, book):
    meeting = book()
    invitation = invitation_of(db_session, meeting, ready.relative)
    path = link_path(app, meeting, invitation)
    with unit_of_work(db_session):
        services.uninvite(db_session, ready.case, meeting, invitation, now=now_utc())
    response = client.get(path)
    assert response.status_code == 410 and "Kallelsen gäller inte längre" in text_of(response)


def test_a_cancelled_meeting_takes_no_answer(app, client, db_session, ready, book):
    meeting = book()
    path = link_path(app, meeting, invitation_of(db_session, meeting, ready.relative))
    # The time once, as the kallelse words it, the end without its day again; the video link while the
    # meeting stands.
    page = text_of(client.get(path))
    assert f"<dd>{span_text(meeting, 'sv')}</dd>" in page and "kl. 10:00–11:00 (svensk tid)</dd>" in page
    assert meeting.video_url and meeting.video_url in page
    with unit_of_work(db_session):
        services.cancel_meeting(db_session, ready.case, meeting, now=now_utc())
    page = text_of(client.get(path))
    assert "Mötet är inställt." in page and "answer-form" not in page
    # A cancelled meeting's video link leads nowhere anyone should go.
    assert meeting.video_url not in page


# --- iTIP REPLY --------------------------------------------------------------------------------------------


def post_reply(client, body: bytes, content_type="text/calendar; charset=utf-8"):
    """POST body to /itip/reply as the mail server does, with the configured secret."""
    return client.post(
        "/itip/reply",
        data=body,
        content_type=content_type,
        headers={"Authorization": f"Bearer {ITIP_SECRET}"},
    )


def test_a_calendar_reply_records_the_answer(client, db_session, ready, book, itip_secret):
    meeting = book()
    response = post_reply(client, reply_ics(meeting.uid, "eva.andersson@example.se", comment="Kommer gärna"))
    assert response.status_code == 202
    assert response.get_json() == {"status": "received", "uid": meeting.uid, "sequence": 0}
    saved = invitation_of(db_session, meeting, ready.relative)
    assert (saved.partstat, saved.answered_via, saved.comment) == ("ACCEPTED", "itip", "Kommer gärna")


def test_a_calendar_accept_counts_after_the_meeting_changed_from_video_to_on_site(
    app, client, db_session, ready, book, itip_secret
):
    """The relative said yes by video through the link; the meeting then became on site at the same time
    (answers kept). Their calendar's Accept of the update must be recorded, not dropped because the way of
    taking part they chose earlier is no longer offered."""
    meeting = book(mode="video")
    path = link_path(app, meeting, invitation_of(db_session, meeting, ready.relative))
    assert answer(client, path, partstat="ACCEPTED", answer_mode="video").status_code == 200
    with unit_of_work(db_session):
        services.change_meeting(
            db_session,
            ready.case,
            meeting,
            services.Booking(meeting.starts_at, meeting.ends_at, "on_site", "Storgatan 1", None),
            now=now_utc(),
        )
    kept = invitation_of(db_session, meeting, ready.relative)
    assert (kept.partstat, kept.answer_mode) == ("ACCEPTED", None)  # the yes stands; video is gone
    response = post_reply(
        client,
        reply_ics(meeting.uid, "eva.andersson@example.se", partstat="TENTATIVE", sequence=meeting.sequence),
    )
    assert response.status_code == 202
    saved = invitation_of(db_session, meeting, ready.relative)
    assert (saved.partstat, saved.answered_via, saved.answered_sequence) == (
        "TENTATIVE",
        "itip",
        meeting.sequence,
    )
    assert saved.answer_mode in (None, "on_site", "phone")


@pytest.mark.parametrize("case", ["unknown-uid", "stranger", "outdated", "future"])
def test_a_reply_that_does_not_fit_changes_nothing_and_is_answered_like_one_that_does(
    client, db_session, ready, book, itip_secret, case
):
    # The mail server needs no reason, and a reason would tell a prober who is invited to what.
    meeting = book()
    with unit_of_work(db_session):  # the meeting moved: SEQUENCE 1 went out to everyone
        later = meeting.starts_at + timedelta(hours=2)
        services.change_meeting(
            db_session,
            ready.case,
            meeting,
            services.Booking(later, later + timedelta(hours=1), "video", None, None),
            now=now_utc(),
        )
    uid = "nobody@sipflow" if case == "unknown-uid" else meeting.uid
    address = "someone.else@example.se" if case == "stranger" else "eva.andersson@example.se"
    sequence = {"outdated": 0, "future": 7}.get(case, 1)
    response = post_reply(client, reply_ics(uid, address, sequence=sequence))
    assert response.status_code == 202
    assert response.get_json() == {"status": "received", "uid": uid, "sequence": sequence}
    assert invitation_of(db_session, meeting, ready.relative).partstat == "NEEDS-ACTION"


@pytest.mark.parametrize(("case", "code"), [("garbage", "unreadable"), ("request", "not_reply")])
def test_a_calendar_object_that_is_no_reply_is_refused_with_a_reason(
    client, db_session, ready, book, itip_secret, case, code
):
    meeting = book()
    bodies = {
        "garbage": b"this is not a calendar",
        "request": reply_ics(meeting.uid, "eva.andersson@example.se").replace(
            b"METHOD:REPLY", b"METHOD:REQUEST"
        ),
    }
    response = post_reply(client, bodies[case])
    assert response.status_code == 400
    body = response.get_json()
    assert body["error"] == code and body["reason"]
    assert invitation_of(db_session, meeting, ready.relative).partstat == "NEEDS-ACTION"


def test_a_reply_to_a_cancelled_meeting_changes_nothing(client, db_session, ready, book, itip_secret):
    meeting = book()
    with unit_of_work(db_session):
        services.cancel_meeting(db_session, ready.case, meeting, now=now_utc())
    response = post_reply(client, reply_ics(meeting.uid, "eva.andersson@example.se", sequence=1))
    assert response.status_code == 202
    assert invitation_of(db_session, meeting, ready.relative).answered_at is None


def test_every_invitation_of_a_meeting_has_its_own_link(app, db_session, ready, book):
    meeting = book()

    invitations = db_session.exec(select(Invitation).where(Invitation.meeting_id == meeting.id)).all()
    links = {link_path(app, meeting, i) for i in invitations}
    assert len(links) == len(invitations) == 5


def test_a_whole_reply_mail_posted_is_understood(client, db_session, ready, book, itip_secret):
    meeting = book()
    body = reply_mail(reply_ics(meeting.uid, "eva.andersson@example.se", partstat="TENTATIVE"))
    response = post_reply(client, body, content_type="message/rfc822")
    assert response.status_code == 202
    assert invitation_of(db_session, meeting, ready.relative).partstat == "TENTATIVE"


def test_the_mail_server_can_hand_a_reply_to_the_command(app, db_session, ready, book, tmp_path):
    # The command needs no secret: only someone on the server can run it.
    meeting = book()
    mail = tmp_path / "reply.eml"
    mail.write_bytes(reply_mail(reply_ics(meeting.uid, "eva.andersson@example.se", partstat="DECLINED")))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["sipflow", "itip", "reply", str(mail)])
    assert result.exit_code == 0, result.output
    assert "recorded DECLINED" in result.output
    assert invitation_of(db_session, meeting, ready.relative).partstat == "DECLINED"
    # A reply that does not fit is not bounced back to its sender (a bounce would tell who is invited).
    unknown = tmp_path / "unknown.ics"
    unknown.write_bytes(reply_ics("nobody@sipflow", "eva.andersson@example.se"))
    result = runner.invoke(args=["sipflow", "itip", "reply", str(unknown)])
    assert result.exit_code == 0 and "ignored: unknown_uid" in result.output


def test_a_cancellation_or_withdrawal_does_not_hand_on_the_video_room(app, client, db_session, ready, book):
    """The cancelled meeting's room, and the room of a meeting someone is taken off, is not in their mail
    or calendar entry: it must not reach anyone who is not to meet there."""
    meeting = book()
    assert meeting.video_url
    with unit_of_work(db_session):
        services.uninvite(
            db_session, ready.case, meeting, invitation_of(db_session, meeting, ready.relative), now=now_utc()
        )
    with unit_of_work(db_session):
        services.cancel_meeting(db_session, ready.case, meeting, now=now_utc())

    def decoded(row) -> str:
        parsed = email.message_from_string(row.message, policy=email.policy.default)
        return "\n".join(str(part.get_content()) for part in parsed.walk() if not part.is_multipart())

    cancels = db_session.exec(select(OutboxMessage).where(OutboxMessage.kind == "cancel")).all()
    assert len(cancels) > 1  # the withdrawn invitee's, and every other invitee's
    for row in cancels:
        assert meeting.video_url not in decoded(row)
    requests = db_session.exec(select(OutboxMessage).where(OutboxMessage.kind == "request")).all()
    assert all(meeting.video_url in decoded(row) for row in requests)


def test_an_answer_comment_with_a_direction_override_is_refused_beside_it_and_kept(
    app, client, db_session, ready, book
):
    # Shown to staff on the meeting page: U+202E would show "Kommer ej" reversed into something else.
    meeting = book()
    invitation = invitation_of(db_session, meeting, ready.relative)
    path = link_path(app, meeting, invitation)
    typed = "Kommer \u202eej"
    response = answer(client, path, partstat="ACCEPTED", answer_mode="video", comment=typed)
    page = text_of(response)
    assert response.status_code == 400
    assert "U+202E" in page and typed in page
    assert invitation_of(db_session, meeting, ready.relative).answered_at is None


def test_a_calendar_reply_keeps_its_answer_without_the_comment_s_hidden_characters(
    client, db_session, ready, book, itip_secret
):
    # No person typed it here to be told: the answer counts, the bell and the override are left out.
    meeting = book()
    comment = "Kommer\x07 g\u202earna\u200b"
    response = post_reply(client, reply_ics(meeting.uid, "eva.andersson@example.se", comment=comment))
    assert response.status_code == 202
    saved = invitation_of(db_session, meeting, ready.relative)
    assert (saved.partstat, saved.comment) == ("ACCEPTED", "Kommer garna")


def test_an_answer_sent_after_the_invitation_was_withdrawn_is_shown_back_to_copy(
    app, client, db_session, ready, book
):
    meeting = book()
    invitation = invitation_of(db_session, meeting, ready.relative)
    path = link_path(app, meeting, invitation)
    hidden = opened(client, path)
    # Meanwhile the one who booked the meeting withdraws the invitation.
    with unit_of_work(db_session):
        services.uninvite(db_session, ready.case, meeting, invitation, now=now_utc())
    response = client.post(
        path,
        data={**hidden, "partstat": "DECLINED", "comment": "Jag kan inte den dagen, men gärna veckan efter"},
    )
    assert response.status_code == 410
    page = text_of(response)
    assert "Kallelsen gäller inte längre" in page
    assert "Det du fyllde i" in page
    assert "Jag kan inte den dagen, men gärna veckan efter" in page
    assert invitation_of(db_session, meeting, ready.relative).comment is None


def test_a_saved_answer_redirects_and_a_reload_sends_nothing(app, client, db_session, ready, book):
    """Post/redirect/get: the save leads (303) to the same link, its language kept, which says once that the
    answer is saved; reloading it (a phone bringing the tab back) shows the answer so far and sends nothing.
    Only the pages shown are reads in the access log, not the post between them."""
    meeting = book()
    invitation = invitation_of(db_session, meeting, ready.relative)
    path = link_path(app, meeting, invitation) + "?lang=en"
    hidden = opened(client, path)
    reads_before = len(db_session.exec(select(AccessLogEntry)).all())
    posted = client.post(path, data={**hidden, "partstat": "ACCEPTED", "answer_mode": "phone"})
    assert posted.status_code == 303 and posted.headers["Location"] == path
    shown = client.get(path)
    assert shown.status_code == 200
    assert "Thank you, your answer is saved: Yes, I will come." in text_of(shown)
    reloaded = text_of(client.get(path))
    assert "your answer is saved" not in reloaded and "Your answer so far: Yes, I will come." in reloaded
    # Other query keys do not go along: url_for would read some as its own (_scheme, _external).
    hostile = client.post(
        path + "&_scheme=javascript&_anchor=x",
        data={**opened(client, path), "partstat": "DECLINED"},
    )
    assert hostile.status_code == 303 and hostile.headers["Location"] == path
    answered_at = invitation_of(db_session, meeting, ready.relative).answered_at
    assert answered_at is not None
    reads = db_session.exec(select(AccessLogEntry).order_by(AccessLogEntry.seq)).all()[reads_before:]
    assert [r.action for r in reads] == [audit.MEETING_LINK_VIEW_NARSTAENDE] * 3  # the närstående's link


def test_an_answer_refused_for_a_lost_session_shows_the_comment(app, client, db_session, ready, book):
    """The invitee's browser lost its session cookie with the page open (closed, its tab restored): the
    form's token no longer checks and nothing is saved, but the comment typed is shown to copy, not lost."""
    meeting = book()
    path = link_path(app, meeting, invitation_of(db_session, meeting, ready.relative))
    hidden = opened(client, path)
    client.delete_cookie(app.config["SESSION_COOKIE_NAME"])
    typed = "Jag kommer en kvart sent, bussen går inte tidigare"
    sent = client.post(path, data={**hidden, "partstat": "ACCEPTED", "comment": typed})
    assert sent.status_code == 400
    page = text_of(sent)
    assert "Formuläret har gått ut" in page and typed in page and "Det du fyllde i" in page
