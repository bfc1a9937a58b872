"""Calendar replies that come back by mail: only the mail server may post them, only the invitee may answer
for themselves, the latest answer wins, and a mail that is no calendar answer reaches a person."""

from __future__ import annotations

import email
import email.policy
from datetime import timedelta

import pytest
from meetingkit import ITIP_SECRET, invitation_of, reply_ics, reply_mail
from sqlmodel import select

from sipflow.clock import now_utc
from sipflow.config import ConfigError, load_config
from sipflow.db import unit_of_work
from sipflow.meetings import services
from sipflow.notifications.models import OutboxMessage
from sipflow.people.models import User

EVA = "eva.andersson@example.se"


def post(client, body: bytes, *, headers=None, content_type="text/calendar; charset=utf-8"):
    return client.post("/itip/reply", data=body, content_type=content_type, headers=headers or {})


def bearer(secret: str = ITIP_SECRET) -> dict:
    return {"Authorization": f"Bearer {secret}"}


def staff_address(db_session, ready) -> str:
    return db_session.get(User, ready.municipality.contact_user_id).email


def outbox(db_session, kind: str) -> list[OutboxMessage]:
    db_session.expire_all()
    return list(db_session.exec(select(OutboxMessage).where(OutboxMessage.kind == kind)).all())


def parsed(row: OutboxMessage):
    return email.message_from_string(row.message, policy=email.policy.default)


# --- Only the mail server may post replies -----------------------------------------------------------------


def test_without_a_configured_secret_the_endpoint_does_not_exist(client, db_session, ready, book):
    meeting = book()
    staff = staff_address(db_session, ready)
    # What a närstående's invitation reveals (UID, a staff address) is not enough to answer for someone.
    response = post(client, reply_ics(meeting.uid, staff, partstat="DECLINED"), headers=bearer(""))
    assert response.status_code == 404
    assert invitation_of(db_session, meeting, ready.municipality).partstat == "NEEDS-ACTION"


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong-secret-wrong-secret-wrong"},
        {"Authorization": f"Bearer {ITIP_SECRET}x"},
        {"Authorization": f"Basic {ITIP_SECRET}"},
        {"Authorization": ITIP_SECRET},
        {"Authorization": "Bearer "},
    ],
)
def test_a_reply_without_the_secret_is_refused_and_changes_nothing(
    client, db_session, ready, book, itip_secret, headers
):
    meeting = book()
    staff = staff_address(db_session, ready)
    response = post(client, reply_ics(meeting.uid, staff, partstat="DECLINED"), headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    # The app's one JSON refusal shape, as the statistics answer.
    assert response.get_json()["error"] == "unauthorised" and response.get_json()["reason"]
    assert invitation_of(db_session, meeting, ready.municipality).partstat == "NEEDS-ACTION"


def test_with_the_secret_the_mail_server_records_the_answer(client, db_session, ready, book, itip_secret):
    meeting = book()
    response = post(client, reply_ics(meeting.uid, EVA, partstat="TENTATIVE"), headers=bearer())
    assert response.status_code == 202
    assert invitation_of(db_session, meeting, ready.relative).partstat == "TENTATIVE"


def test_an_unknown_attendee_is_answered_exactly_like_a_known_one(
    client, db_session, ready, book, itip_secret
):
    meeting = book()
    known = post(client, reply_ics(meeting.uid, EVA, sequence=0), headers=bearer())
    unknown = post(client, reply_ics(meeting.uid, "not.invited@example.se", sequence=0), headers=bearer())
    assert (known.status_code, known.get_data()) == (unknown.status_code, unknown.get_data())
    assert invitation_of(db_session, meeting, ready.relative).partstat == "ACCEPTED"


# --- The sender must be the attendee -----------------------------------------------------------------------


def test_a_mail_from_someone_else_does_not_answer_for_the_attendee(
    client, db_session, ready, book, itip_secret, reply_to
):
    meeting = book()
    staff = staff_address(db_session, ready)
    forged = reply_mail(reply_ics(meeting.uid, staff, partstat="DECLINED", sequence=0), sender=EVA)
    response = post(client, forged, headers=bearer(), content_type="message/rfc822")
    assert response.status_code == 202
    assert invitation_of(db_session, meeting, ready.municipality).partstat == "NEEDS-ACTION"
    # A person sees it: a delegate answering from another address is not lost.
    [forward] = outbox(db_session, "forward")
    assert forward.recipient == reply_to


def test_the_sender_check_ignores_case_and_display_names(client, db_session, ready, book, itip_secret):
    meeting = book()
    mail = reply_mail(reply_ics(meeting.uid, EVA, partstat="DECLINED"), sender=f'"Eva A" <{EVA.upper()}>')
    response = post(client, mail, headers=bearer(), content_type="message/rfc822")
    assert response.status_code == 202
    assert invitation_of(db_session, meeting, ready.relative).partstat == "DECLINED"


def test_the_command_checks_the_sender_too(app, db_session, ready, book, tmp_path, reply_to):
    meeting = book()
    staff = staff_address(db_session, ready)
    mail = tmp_path / "forged.eml"
    mail.write_bytes(reply_mail(reply_ics(meeting.uid, staff, partstat="DECLINED"), sender=EVA))
    result = app.test_cli_runner().invoke(args=["sipflow", "itip", "reply", str(mail)])
    assert result.exit_code == 0, result.output
    assert invitation_of(db_session, meeting, ready.municipality).partstat == "NEEDS-ACTION"


# --- Replies in DTSTAMP order ------------------------------------------------------------------------------


def test_an_earlier_stamped_reply_arriving_later_does_not_overwrite_a_later_one(
    client, db_session, ready, book, itip_secret
):
    meeting = book()
    stamp = now_utc().replace(microsecond=0)
    accepted = reply_ics(meeting.uid, EVA, partstat="ACCEPTED", dtstamp=stamp)
    declined_before = reply_ics(meeting.uid, EVA, partstat="DECLINED", dtstamp=stamp - timedelta(minutes=5))
    assert post(client, accepted, headers=bearer()).status_code == 202
    assert post(client, declined_before, headers=bearer()).status_code == 202
    assert invitation_of(db_session, meeting, ready.relative).partstat == "ACCEPTED"
    # A reply stamped after the one in force still counts.
    declined_after = reply_ics(meeting.uid, EVA, partstat="DECLINED", dtstamp=stamp + timedelta(minutes=5))
    assert post(client, declined_after, headers=bearer()).status_code == 202
    assert invitation_of(db_session, meeting, ready.relative).partstat == "DECLINED"


def test_a_reply_stamped_before_an_answer_through_the_link_does_not_overwrite_it(
    client, db_session, ready, book, itip_secret
):
    meeting = book()
    invitation = invitation_of(db_session, meeting, ready.relative)
    answered_at = now_utc().replace(microsecond=0)
    with unit_of_work(db_session):
        services.record_answer(
            db_session,
            meeting,
            invitation,
            partstat="ACCEPTED",
            answer_mode="video",
            comment=None,
            via="link",
            now=answered_at,
        )
    older = reply_ics(meeting.uid, EVA, partstat="DECLINED", dtstamp=answered_at - timedelta(minutes=1))
    assert post(client, older, headers=bearer()).status_code == 202
    assert invitation_of(db_session, meeting, ready.relative).partstat == "ACCEPTED"


def test_a_reply_to_a_newer_sequence_counts_whatever_its_stamp(client, db_session, ready, book, itip_secret):
    meeting = book()
    stamp = now_utc().replace(microsecond=0)
    assert post(client, reply_ics(meeting.uid, EVA, dtstamp=stamp), headers=bearer()).status_code == 202
    with unit_of_work(db_session):  # a new place (same time): SEQUENCE 1, the answer is kept
        services.change_meeting(
            db_session,
            ready.case,
            meeting,
            services.Booking(meeting.starts_at, meeting.ends_at, "mixed", "Storgatan 1", None),
            now=now_utc(),
        )
    # The invitee's calendar clock runs a little behind: the answer to the new version still counts.
    skewed = reply_ics(
        meeting.uid, EVA, partstat="DECLINED", sequence=1, dtstamp=stamp - timedelta(minutes=2)
    )
    assert post(client, skewed, headers=bearer()).status_code == 202
    assert invitation_of(db_session, meeting, ready.relative).partstat == "DECLINED"


def test_a_reply_stamped_in_the_future_does_not_block_the_next_answer(
    client, db_session, ready, book, itip_secret
):
    # A calendar whose clock is days ahead: its stamp counts as the moment the reply arrived.
    meeting = book()
    now = now_utc()
    ahead = reply_ics(meeting.uid, EVA, partstat="ACCEPTED", dtstamp=now + timedelta(days=10))
    assert post(client, ahead, headers=bearer()).status_code == 202
    later = reply_ics(meeting.uid, EVA, partstat="DECLINED", dtstamp=now + timedelta(minutes=1))
    assert post(client, later, headers=bearer()).status_code == 202
    assert invitation_of(db_session, meeting, ready.relative).partstat == "DECLINED"


# --- Plain replies reach a person --------------------------------------------------------------------------


def invitation_mails(db_session) -> list:
    return [parsed(row) for row in outbox(db_session, "request")]


def test_invitations_name_the_shared_mailbox_as_reply_to(db_session, ready, book, reply_to):
    book()
    mails = invitation_mails(db_session)
    assert mails and all(str(m["Reply-To"]) == reply_to for m in mails)
    assert all(str(m["From"]).endswith("<sip@sipflow.localhost>") for m in mails)


def test_without_a_shared_mailbox_replies_go_to_the_one_who_booked(db_session, parties, ready, book):
    book()
    mails = invitation_mails(db_session)
    assert mails and all(str(m["Reply-To"]) == parties.region_user.email for m in mails)


def plain_mail(tmp_path, **headers):
    path = tmp_path / "plain.eml"
    path.write_bytes(reply_mail(None, **headers))
    return path


def test_a_mail_that_is_no_calendar_reply_is_forwarded_to_the_shared_mailbox(
    app, db_session, ready, book, tmp_path, reply_to
):
    book()
    result = app.test_cli_runner().invoke(args=["sipflow", "itip", "reply", str(plain_mail(tmp_path))])
    assert result.exit_code == 0, result.output  # the mail server does not bounce it
    [row] = outbox(db_session, "forward")
    assert row.recipient == reply_to and row.invitation_id is None
    forward = parsed(row)
    assert str(forward["To"]) == reply_to
    assert str(forward["Reply-To"]) == EVA  # answering the forward answers the sender
    assert forward["Auto-Submitted"] == "auto-forwarded"
    # The subject is sipflow's own: the sender's subject may name the person.
    assert "SIP-möte" not in str(forward["Subject"]) and str(forward["Subject"])
    [original] = [p for p in forward.walk() if p.get_content_type() == "message/rfc822"]
    inner = original.get_payload(0)
    assert str(inner["From"]) == EVA and "ring mig" in inner.get_body(("plain",)).get_content()


def test_a_reply_to_an_invitation_without_a_shared_mailbox_goes_to_the_one_who_booked(
    app, db_session, parties, ready, book, tmp_path
):
    book()
    [invitation_row] = [r for r in outbox(db_session, "request") if r.recipient == EVA]
    path = plain_mail(tmp_path, In_Reply_To=invitation_row.message_id)
    result = app.test_cli_runner().invoke(args=["sipflow", "itip", "reply", str(path)])
    assert result.exit_code == 0, result.output
    [row] = outbox(db_session, "forward")
    assert row.recipient == parties.region_user.email and row.case_id == ready.case.id
    assert ready.case.reference in row.subject


def test_a_forward_to_the_one_who_booked_is_in_their_language(
    app, db_session, parties, ready, book, tmp_path
):
    """Without a shared mailbox the forward goes to a person, the booker: in their language, as every other
    mail to them is (only a shared mailbox, which has no language, gets Swedish)."""
    from sipflow.people.services import set_user_language

    with unit_of_work(db_session):
        set_user_language(db_session, db_session.get(User, parties.region_user.id), "en")
    book()
    [invitation_row] = [r for r in outbox(db_session, "request") if r.recipient == EVA]
    path = plain_mail(tmp_path, In_Reply_To=invitation_row.message_id)
    result = app.test_cli_runner().invoke(args=["sipflow", "itip", "reply", str(path)])
    assert result.exit_code == 0, result.output
    [row] = outbox(db_session, "forward")
    assert row.recipient == parties.region_user.email
    assert row.subject == f"Forwarded e-mail about SIP {ready.case.reference}"
    body = parsed(row).get_body(("plain",)).get_content()
    assert "Vidarebefordrat" not in body and "vidarebefordrat" not in body


def test_a_forward_coming_back_is_not_forwarded_again(app, db_session, ready, book, tmp_path, reply_to):
    book()
    path = plain_mail(tmp_path, Auto_Submitted="auto-forwarded", X_Sipflow_Forwarded="1")
    result = app.test_cli_runner().invoke(args=["sipflow", "itip", "reply", str(path)])
    assert result.exit_code == 0, result.output
    assert outbox(db_session, "forward") == []


def test_a_mail_nobody_can_be_found_for_stays_with_the_mail_server(app, db_session, ready, book, tmp_path):
    book()
    result = app.test_cli_runner().invoke(args=["sipflow", "itip", "reply", str(plain_mail(tmp_path))])
    assert result.exit_code == 75, result.output  # EX_TEMPFAIL: the mail server keeps it and tries again
    assert "SIPFLOW_REPLY_TO" in result.output
    assert outbox(db_session, "forward") == []


def test_a_plain_mail_posted_by_the_mail_server_is_forwarded(
    client, db_session, ready, book, itip_secret, reply_to
):
    book()
    response = post(client, reply_mail(None), headers=bearer(), content_type="message/rfc822")
    assert response.status_code == 202 and response.get_json() == {"status": "forwarded"}
    assert [row.recipient for row in outbox(db_session, "forward")] == [reply_to]


# --- Configuration -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("variables", "named"),
    [
        ({"SIPFLOW_ITIP_REPLY_SECRET": "short"}, "SIPFLOW_ITIP_REPLY_SECRET"),
        ({"SIPFLOW_ITIP_REPLY_SECRET": "has a space in it 0123456789abcdef"}, "SIPFLOW_ITIP_REPLY_SECRET"),
        ({"SIPFLOW_REPLY_TO": "not an address"}, "SIPFLOW_REPLY_TO"),
        ({"SIPFLOW_REPLY_TO": "sip@sipflow.localhost"}, "SIPFLOW_REPLY_TO"),  # would forward to itself
    ],
)
def test_bad_reply_settings_are_refused_at_start(tmp_path, variables, named):
    with pytest.raises(ConfigError, match=named):
        load_config({"SIPFLOW_INSTANCE_DIR": str(tmp_path), **variables})


def test_good_reply_settings_are_kept(tmp_path):
    config = load_config(
        {
            "SIPFLOW_INSTANCE_DIR": str(tmp_path),
            "SIPFLOW_ITIP_REPLY_SECRET": "x" * 32,
            "SIPFLOW_REPLY_TO": "sip-bokning@region.example.se",
        }
    )
    assert (config["ITIP_REPLY_SECRET"], config["REPLY_TO"]) == ("x" * 32, "sip-bokning@region.example.se")
    assert load_config({"SIPFLOW_INSTANCE_DIR": str(tmp_path)})["ITIP_REPLY_SECRET"] == ""


def test_a_raw_eight_bit_mail_is_forwarded_whole_as_an_attachment(
    app, db_session, ready, book, tmp_path, reply_to
):
    book()
    raw = (
        "From: Eva <eva.andersson@example.se>\r\nTo: sip@sipflow.localhost\r\nSubject: Sv: SIP-möte\r\n"
        "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        "Jag är sjuk på tisdag.\r\n"
    ).encode()
    path = tmp_path / "raw.eml"
    path.write_bytes(raw)
    result = app.test_cli_runner().invoke(args=["sipflow", "itip", "reply", str(path)])
    assert result.exit_code == 0, result.output
    [row] = outbox(db_session, "forward")
    [attached] = [p for p in parsed(row).walk() if p.get_filename() == "forwarded.eml"]
    assert attached.get_payload(decode=True) == raw


def test_another_method_than_post_is_refused_as_json(client):
    # A mail server (or a person) fetching the reply address gets the API's JSON refusal, not a web page.
    response = client.get("/itip/reply")
    assert response.status_code == 405 and response.is_json
    assert response.get_json()["error"] == "method_not_allowed" and "POST" in response.get_json()["reason"]
    assert response.headers["Allow"] == "OPTIONS, POST"
