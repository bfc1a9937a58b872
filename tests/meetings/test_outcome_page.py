"""The meeting outcome page: attendance from the answers, classification, decisions that become efforts."""

from __future__ import annotations

import email
import re
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from icalendar import Calendar
from meetingkit import fire
from sqlmodel import select
from webkit import csrf_token, fill, forms_of, login, text_of

from sipflow.cases import services
from sipflow.cases.models import SipCase
from sipflow.clock import local_to_utc, now_utc, to_local
from sipflow.db import unit_of_work
from sipflow.errors import InvalidInput
from sipflow.meetings import services as meeting_services
from sipflow.meetings.messages import moment_text
from sipflow.meetings.models import ATTENDANCE_MODES, Attendance, Invitation, Meeting, MeetingDecision
from sipflow.meetings.outcome import classify, meeting_labels
from sipflow.notifications.models import OutboxMessage
from sipflow.people.models import Person
from sipflow.plans.from_meetings import carry_decisions, meeting_decisions
from sipflow.plans.models import PlanEffort


def outcome_url(case) -> str:
    return f"/cases/{case.uid}/meetings/outcome"


def answer(db_session, meeting, participant, partstat, mode=None) -> None:
    """Set an invitee's answer as the answer page or a calendar REPLY would have."""
    with unit_of_work(db_session):
        invitation = db_session.exec(
            select(Invitation).where(
                Invitation.meeting_id == meeting.id, Invitation.participant_id == participant.id
            )
        ).one()
        invitation.partstat, invitation.answer_mode = partstat, mode
        db_session.add(invitation)


@pytest.fixture
def held(frozen_clock, book, client, parties):
    """A booked meeting, the clock an hour after it started, the region's user logged in on the page."""
    meeting = book()
    frozen_clock.set(meeting.starts_at + timedelta(hours=1))
    assert login(client, parties.region_user.username).status_code == 302
    return meeting


def page_form(client, case) -> list[tuple[str, str]]:
    response = client.get(outcome_url(case))
    assert response.status_code == 200
    return forms_of(text_of(response))[outcome_url(case)]


def post(client, case, pairs, **values):
    return client.post(outcome_url(case), data=fill(pairs, **values))


def invitations_of(db_session, meeting) -> list[Invitation]:
    return list(
        db_session.exec(select(Invitation).where(Invitation.meeting_id == meeting.id, Invitation.active))
    )


def calendar_of(raw: str) -> bytes:
    """The text/calendar part of an outbox message."""
    message = email.message_from_string(raw)
    (part,) = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
    return part.get_payload(decode=True)


def text_part_of(raw: str) -> str:
    """The plain-text part of an outbox message."""
    message = email.message_from_string(raw)
    (part,) = [p for p in message.walk() if p.get_content_type() == "text/plain"]
    return part.get_payload(decode=True).decode()


def feed_path(client) -> str:
    """The logged-in user's calendar feed address, as the account page shows it."""
    page = text_of(client.get("/account/calendar"))
    start = page.index('value="http') + len('value="')
    return "/" + page[start : page.index('"', start)].split("://", 1)[1].split("/", 1)[1]


def local_text(moment: datetime) -> str:
    return to_local(moment).strftime("%Y-%m-%dT%H:%M")


# --- Pre-filled from the invitation answers ----


def test_attendance_is_prefilled_from_the_answers_and_the_booked_meeting_is_chosen(
    client, db_session, ready, held
):
    answer(db_session, held, ready.region, "ACCEPTED", "video")
    answer(db_session, held, ready.municipality, "ACCEPTED", "on_site")
    answer(db_session, held, ready.person, "TENTATIVE", "phone")
    answer(db_session, held, ready.relative, "DECLINED")
    form = dict(page_form(client, ready.case))
    assert form["meeting_id"] == str(held.id)
    assert form["held_at"] == local_text(held.starts_at)
    assert form[f"attendance_{ready.region.id}"] == "video"
    assert form[f"attendance_{ready.municipality.id}"] == "on_site"
    assert form[f"attendance_{ready.person.id}"] == "phone"
    assert form[f"attendance_{ready.relative.id}"] == "absent"
    # No answer: nothing is assumed.
    assert form[f"attendance_{ready.relative_without_email.id}"] == ""
    # Asked about their own support: only the närstående.
    assert {name for name in form if name.startswith("carer_support_")} == {
        f"carer_support_{ready.relative.id}",
        f"carer_support_{ready.relative_without_email.id}",
    }


def test_the_case_page_links_to_the_outcome_page_instead_of_the_narrow_form(client, db_session, ready, held):
    page = text_of(client.get(f"/cases/{ready.case.uid}"))
    assert f'href="{outcome_url(ready.case)}"' in page
    assert "hold_meeting-held_at" not in page
    # An old page posting the narrow form is sent to the full page; nothing is recorded.
    response = client.post(
        f"/cases/{ready.case.uid}/transitions/hold_meeting", data={"csrf_token": csrf_token(page)}
    )
    assert response.status_code == 303
    assert response.headers["Location"].endswith(outcome_url(ready.case))
    assert db_session.get(Meeting, held.id).status == "planned"


# --- Recording the outcome ----


def test_recording_the_outcome_stores_attendance_classification_decisions_and_efforts(
    client, db_session, ready, held, parties
):
    pairs = page_form(client, ready.case)
    due = (to_local(now_utc()).date() + timedelta(days=14)).isoformat()
    response = post(
        client,
        ready.case,
        pairs,
        **{
            f"attendance_{ready.region.id}": "on_site",
            f"attendance_{ready.municipality.id}": "video",
            f"attendance_{ready.person.id}": "on_site",
            f"attendance_{ready.relative.id}": "phone",
            f"attendance_{ready.relative_without_email.id}": "absent",
            f"carer_support_{ready.relative.id}": "referred",
            "decisions-0-text": "Kontakta boendestödet",
            "decisions-0-owner": f"organisation:{parties.municipality.organisation_id}",
            "decisions-0-due_on": due,
            "decisions-1-text": "Ringa arbetsförmedlingen själv",
            "decisions-1-owner": f"participant:{ready.person.id}",
            "decisions-1-due_on": due,
        },
    )
    assert response.status_code == 303, text_of(response)
    db_session.expire_all()
    meeting = db_session.get(Meeting, held.id)
    assert (meeting.status, meeting.classification, meeting.moved) == ("held", "partly_digital", False)
    assert meeting.held_at == held.starts_at
    case = db_session.get(SipCase, ready.case.id)
    assert case.state == "meeting_held"
    attendance = {
        a.participant_id: a
        for a in db_session.exec(select(Attendance).where(Attendance.meeting_id == held.id))
    }
    assert attendance[ready.relative.id].carer_support == "referred"
    assert attendance[ready.region.id].carer_support is None
    decisions = meeting_decisions(db_session, held.id)
    assert [(d.text, d.organisation_id, d.participant_id) for d in decisions] == [
        ("Kontakta boendestödet", parties.municipality.organisation_id, None),
        ("Ringa arbetsförmedlingen själv", None, ready.person.id),
    ]
    efforts = db_session.exec(select(PlanEffort).order_by(PlanEffort.position)).all()
    assert [(e.kind, e.what, e.organisation_id, e.ends_on, e.decision_id, e.status) for e in efforts] == [
        (
            "effort",
            "Kontakta boendestödet",
            parties.municipality.organisation_id,
            date.fromisoformat(due),
            decisions[0].id,
            "planned",
        ),
        ("own", "Ringa arbetsförmedlingen själv", None, date.fromisoformat(due), decisions[1].id, "planned"),
    ]
    assert efforts[1].actor  # the person's name, so the plan says who does it
    # The meeting page shows what was recorded.
    page = text_of(client.get(f"/cases/{ready.case.uid}/meetings/{held.id}"))
    assert "Kontakta boendestödet" in page


def test_no_change_with_a_reason_is_an_outcome(client, db_session, ready, held):
    response = post(client, ready.case, page_form(client, ready.case), no_change_reason="Planen fungerar")
    assert response.status_code == 303, text_of(response)
    db_session.expire_all()
    meeting = db_session.get(Meeting, held.id)
    assert meeting.no_change_reason == "Planen fungerar"
    assert meeting_decisions(db_session, held.id) == []
    # The confirmation says nothing went into the plan, for nothing did.
    page = text_of(client.get(response.headers["Location"]))
    assert "Registrera hållet möte: sparat." in page and "Besluten finns i planen" not in page


def test_a_moved_meeting_is_recorded_on_its_new_day(client, db_session, ready, book, frozen_clock, parties):
    held = book()
    frozen_clock.set(held.starts_at + timedelta(days=2))
    assert login(client, parties.region_user.username).status_code == 302
    new_time = held.starts_at + timedelta(days=1)
    response = post(
        client,
        ready.case,
        page_form(client, ready.case),
        held_at=local_text(new_time),
        moved="y",
        no_change_reason="Inget ändras",
    )
    assert response.status_code == 303, text_of(response)
    db_session.expire_all()
    meeting = db_session.get(Meeting, held.id)
    assert (meeting.held_at, meeting.moved) == (new_time, True)


def test_a_meeting_held_before_its_booked_time_moves_every_calendar_entry_there(
    client, db_session, ready, book, frozen_clock, parties
):
    """Held on another day than booked: the invitees get a REQUEST (SEQUENCE + 1) at the held time, and the
    calendar feed and the answer page show it there; nothing in it names the person."""
    booked = book()
    booked_at, duration = booked.starts_at, booked.ends_at - booked.starts_at
    frozen_clock.set(booked_at - timedelta(days=3))
    held_at = (booked_at - timedelta(days=3, hours=2)).replace(second=0, microsecond=0)
    assert login(client, parties.region_user.username).status_code == 302
    before = {m.id for m in db_session.exec(select(OutboxMessage)).all()}
    response = post(
        client,
        ready.case,
        page_form(client, ready.case),
        held_at=local_text(held_at),
        moved="y",
        no_change_reason="Inget ändras",
    )
    assert response.status_code == 303, text_of(response)

    db_session.expire_all()
    meeting = db_session.get(Meeting, booked.id)
    assert (meeting.held_at, meeting.starts_at, meeting.ends_at) == (held_at, held_at, held_at + duration)
    sent = [m for m in db_session.exec(select(OutboxMessage)).all() if m.id not in before]
    with_address = [i for i in invitations_of(db_session, meeting) if i.email]
    assert sorted(m.recipient for m in sent) == sorted(i.email for i in with_address)
    person = db_session.get(Person, ready.case.person_id)
    for row in sent:
        assert row.kind == "update" and ready.case.reference in row.subject
        ics = calendar_of(row.message)
        calendar = Calendar.from_ical(ics)
        (event,) = calendar.walk("VEVENT")
        assert str(calendar["METHOD"]) == "REQUEST" and str(event["STATUS"]) == "CONFIRMED"
        assert str(event["UID"]) == meeting.uid and int(event["SEQUENCE"]) == 1
        assert event.decoded("DTSTART").astimezone(UTC) == held_at
        assert event.decoded("DTEND").astimezone(UTC) == held_at + duration
        for text in (row.subject, str(event["SUMMARY"]), str(event["DESCRIPTION"])):
            assert person.given_name not in text and person.family_name not in text
    assert all(i.sequence == 1 for i in with_address)

    # The booker's calendar feed has the meeting at the held time too.
    feed = Calendar.from_ical(client.get(feed_path(client)).data)
    (event,) = [e for e in feed.walk("VEVENT") if str(e["UID"]) == meeting.uid]
    assert event.decoded("DTSTART").astimezone(UTC) == held_at and int(event["SEQUENCE"]) == 1

    # The answer link of the first invitation shows the held time, not the booked one.
    first = next(m for m in db_session.exec(select(OutboxMessage)).all() if m.id in before)
    link = re.search(r"/answer/[^\s?]+", text_part_of(first.message)).group(0)
    page = text_of(client.get(link))
    # Worded as the kallelse words it ("måndag 9 november 2026 kl. 10:00–11:00 (svensk tid)").
    assert moment_text(held_at) in page
    assert moment_text(booked_at) not in page


def test_the_calendar_entry_moved_to_the_held_time_asks_nobody_to_answer(
    db_session, ready, book, frozen_clock
):
    """The mail says there is nothing to answer; the calendar object must not ask for one either (RSVP=TRUE
    makes Outlook and Gmail show Accept/Decline, whose REPLY a held meeting ignores)."""
    booked = book()
    frozen_clock.set(booked.starts_at - timedelta(days=3))
    held_at = (booked.starts_at - timedelta(days=3, hours=2)).replace(second=0, microsecond=0)
    before = {m.id for m in db_session.exec(select(OutboxMessage)).all()}
    with unit_of_work(db_session):
        assert meeting_services.move_to_held_time(db_session, ready.case, booked, held_at, now=now_utc())
    sent = [m for m in db_session.exec(select(OutboxMessage)).all() if m.id not in before]
    assert sent
    for row in sent:
        (event,) = Calendar.from_ical(calendar_of(row.message)).walk("VEVENT")
        attendees = event["ATTENDEE"] if isinstance(event["ATTENDEE"], list) else [event["ATTENDEE"]]
        assert attendees and all(a.params.get("RSVP", "FALSE") == "FALSE" for a in attendees)


def test_a_meeting_that_began_a_little_late_mails_nobody_after_the_fact(
    client, db_session, ready, book, frozen_clock, parties
):
    """The booked time is past when the outcome is recorded: no calendar misleads anyone any more, so the
    invitees get no mail and the meeting keeps its booked time beside the time it was held."""
    booked = book()
    booked_at, booked_end = booked.starts_at, booked.ends_at
    frozen_clock.set(booked_at + timedelta(hours=2))
    held_at = (booked_at + timedelta(minutes=15)).replace(second=0, microsecond=0)
    assert login(client, parties.region_user.username).status_code == 302
    before = {m.id for m in db_session.exec(select(OutboxMessage)).all()}
    response = post(
        client,
        ready.case,
        page_form(client, ready.case),
        held_at=local_text(held_at),
        no_change_reason="Inget ändras",
    )
    assert response.status_code == 303, text_of(response)
    db_session.expire_all()
    meeting = db_session.get(Meeting, booked.id)
    assert (meeting.held_at, meeting.starts_at, meeting.ends_at, meeting.sequence) == (
        held_at,
        booked_at,
        booked_end,
        0,
    )
    assert [m for m in db_session.exec(select(OutboxMessage)).all() if m.id not in before] == []


# --- Bad input: refused at the field, nothing saved, everything typed kept ----


def snapshot(db_session, case):
    db_session.expire_all()
    return (
        db_session.get(SipCase, case.id).version,
        db_session.exec(select(Meeting.status)).all(),
        db_session.exec(select(MeetingDecision.id)).all(),
        db_session.exec(select(PlanEffort.id)).all(),
        db_session.exec(select(Attendance.meeting_id)).all(),
    )


def bad_held_at(held, case):
    return {
        "another-day-without-moved": local_text(held.starts_at + timedelta(days=-1)),
        "before-the-sip-started": local_text(case.requested_at - timedelta(days=1)),
        "in-the-future": local_text(now_utc() + timedelta(hours=2)),
    }


@pytest.mark.parametrize("mistake", ["another-day-without-moved", "before-the-sip-started", "in-the-future"])
def test_a_held_time_that_does_not_fit_is_refused_at_the_field(client, db_session, ready, held, mistake):
    before = snapshot(db_session, ready.case)
    held_at = bad_held_at(held, ready.case)[mistake]
    moved = "y" if mistake != "another-day-without-moved" else None
    response = post(
        client,
        ready.case,
        page_form(client, ready.case),
        held_at=held_at,
        moved=moved,
        **{"decisions-0-text": "Hemtjänst utreds"},
    )
    page = text_of(response)
    assert response.status_code == 400
    assert 'id="held_at-error"' in page
    assert f'value="{held_at}"' in page
    assert "Hemtjänst utreds" in page
    assert snapshot(db_session, ready.case) == before


@pytest.mark.parametrize("missing", ["owner", "due_on"])
def test_a_decision_without_owner_or_date_is_refused_at_its_row(
    client, db_session, ready, held, parties, missing
):
    before = snapshot(db_session, ready.case)
    row = {
        "decisions-0-text": "Kontakta boendestödet",
        "decisions-0-owner": f"organisation:{parties.municipality.organisation_id}",
        "decisions-0-due_on": (to_local(now_utc()).date() + timedelta(days=7)).isoformat(),
        "decisions-1-text": "Söka hemtjänst",
        "decisions-1-owner": f"participant:{ready.person.id}",
        "decisions-1-due_on": (to_local(now_utc()).date() + timedelta(days=7)).isoformat(),
    }
    row[f"decisions-1-{missing}"] = ""
    response = post(client, ready.case, page_form(client, ready.case), **row)
    page = text_of(response)
    assert response.status_code == 400
    assert f'id="decisions-1-{missing}-error"' in page
    assert "Kontakta boendestödet" in page and "Söka hemtjänst" in page
    assert snapshot(db_session, ready.case) == before


def test_attendance_naming_a_non_participant_is_refused(db_session, registry, parties, ready, held):
    before = snapshot(db_session, ready.case)
    with pytest.raises(InvalidInput) as refused:
        fire(
            db_session,
            registry,
            parties.region_user,
            ready.case,
            "hold_meeting",
            data={
                "meeting_id": held.id,
                "held_at": held.starts_at,
                "attendance": {ready.region.id: "on_site", 2_000_000: "video"},
                "no_change_reason": "Inget ändras",
            },
        )
    assert refused.value.field == "attendance"
    assert snapshot(db_session, ready.case) == before


def withdraw(db_session, ready, meeting, participant) -> None:
    """Withdraw participant's invitation to meeting, as the meeting page's button does."""
    with unit_of_work(db_session):
        invitation = db_session.exec(
            select(Invitation).where(
                Invitation.meeting_id == meeting.id, Invitation.participant_id == participant.id
            )
        ).one()
        meeting_services.uninvite(
            db_session, ready.case, db_session.get(Meeting, meeting.id), invitation, now=now_utc()
        )


WITHDRAWN = "Deltagarens inbjudan till mötet är återkallad, så närvaron kan inte registreras."


def test_attendance_is_not_offered_for_a_participant_whose_invitation_was_withdrawn(
    client, db_session, ready, held
):
    withdraw(db_session, ready, held, ready.municipality)
    form = dict(page_form(client, ready.case))
    assert f"attendance_{ready.municipality.id}" not in form
    assert f"attendance_{ready.region.id}" in form and f"attendance_{ready.person.id}" in form


def test_attendance_of_a_participant_whose_invitation_was_withdrawn_is_refused_at_its_field(
    client, db_session, ready, held
):
    """A page read before the withdrawal (the consent ran out meanwhile, say) keeps what was chosen."""
    before = snapshot(db_session, ready.case)
    pairs = page_form(client, ready.case)
    withdraw(db_session, ready, held, ready.municipality)
    field = f"attendance_{ready.municipality.id}"
    response = post(
        client,
        ready.case,
        pairs,
        **{field: "on_site", f"attendance_{ready.region.id}": "video", "no_change_reason": "Inget ändras"},
    )
    page = text_of(response)
    assert response.status_code == 400
    error = page[page.index(f'id="{field}-error"') :]
    assert WITHDRAWN in error[: error.index("</ul>")]
    chosen = dict(forms_of(page)[outcome_url(ready.case)])
    assert chosen[field] == "on_site" and chosen[f"attendance_{ready.region.id}"] == "video"
    assert "Inget ändras" in page
    assert snapshot(db_session, ready.case) == before
    # Not recorded, the rest of the outcome is.
    response = post(client, ready.case, forms_of(page)[outcome_url(ready.case)], **{field: ""})
    assert response.status_code == 303
    db_session.expire_all()
    attended = db_session.exec(select(Attendance.participant_id).where(Attendance.meeting_id == held.id))
    assert ready.municipality.id not in set(attended.all())


def test_the_step_refuses_attendance_of_a_withdrawn_invitee(db_session, registry, parties, ready, held):
    withdraw(db_session, ready, held, ready.relative)
    before = snapshot(db_session, ready.case)
    with pytest.raises(InvalidInput) as refused:
        fire(
            db_session,
            registry,
            parties.region_user,
            ready.case,
            "hold_meeting",
            data={
                "meeting_id": held.id,
                "held_at": held.starts_at,
                "attendance": {ready.region.id: "on_site", ready.relative.id: "absent"},
                "no_change_reason": "Inget ändras",
            },
        )
    assert refused.value.field == f"attendance-{ready.relative.id}"
    assert snapshot(db_session, ready.case) == before


def test_a_stale_page_gets_the_conflict_message_and_keeps_what_was_typed(
    client, db_session, registry, ready, held
):
    pairs = page_form(client, ready.case)
    with unit_of_work(db_session):
        services.add_private_participant(
            db_session,
            registry,
            db_session.get(SipCase, ready.case.id),
            kind="narstaende",
            name="Kalle Andersson",
            relation="kusin",
            email=None,
            phone=None,
            now=now_utc(),
        )
    before = snapshot(db_session, ready.case)
    response = post(client, ready.case, pairs, no_change_reason="Allt fungerar som planerat")
    page = text_of(response)
    assert response.status_code == 409
    assert "Allt fungerar som planerat" in page
    assert f'value="{before[0]}"' in page  # the form now carries the version the page shows
    assert snapshot(db_session, ready.case) == before


def test_add_more_rows_keeps_what_was_typed(client, db_session, ready, held):
    pairs = page_form(client, ready.case)
    response = post(client, ready.case, pairs, add_rows="1", **{"decisions-0-text": "Första beslutet"})
    page = text_of(response)
    assert response.status_code == 200
    assert "Första beslutet" in page
    assert 'name="decisions-5-text"' in page
    assert db_session.get(Meeting, held.id).status == "planned"


# --- Decisions become efforts, once ----


def test_decisions_already_carried_into_the_plan_are_not_carried_again(
    client, db_session, ready, held, parties
):
    pairs = page_form(client, ready.case)
    post(
        client,
        ready.case,
        pairs,
        **{
            "decisions-0-text": "Kontakta boendestödet",
            "decisions-0-owner": f"unit:{ready.municipality.unit_id}",
            "decisions-0-due_on": (to_local(now_utc()).date() + timedelta(days=7)).isoformat(),
        },
    )
    db_session.expire_all()
    efforts = db_session.exec(select(PlanEffort)).all()
    assert [(e.organisation_id, e.unit_id) for e in efforts] == [
        (parties.municipality.organisation_id, ready.municipality.unit_id)
    ]
    with unit_of_work(db_session):
        again = carry_decisions(
            db_session, db_session.get(SipCase, ready.case.id), meeting_decisions(db_session, held.id)
        )
    assert again == []
    assert len(db_session.exec(select(PlanEffort)).all()) == 1


# --- Classification and labels ----


@given(st.lists(st.sampled_from(ATTENDANCE_MODES), max_size=12))
def test_the_classification_follows_who_was_on_site(modes):
    present = [m for m in modes if m != "absent"]
    result = classify(modes)
    if not present:
        assert result is None
    elif "on_site" not in present:
        assert result == "fully_digital"
    elif set(present) == {"on_site"}:
        assert result == "on_site"
    else:
        assert result == "partly_digital"
    # Order and absentees never change it.
    assert classify([*reversed(modes), "absent"]) == result


@pytest.mark.parametrize(
    ("modes", "expected"),
    [
        (["video", "phone", "absent"], "fully_digital"),
        (["on_site", "video"], "partly_digital"),
        (["on_site", "on_site", "absent"], "on_site"),
    ],
)
def test_each_classification(modes, expected):
    assert classify(modes) == expected


def test_two_meetings_of_a_case_get_distinct_labels(app_ctx):
    at = local_to_utc(datetime(2026, 11, 9, 10, 0))
    first = Meeting(id=1, case_id=1, mode="video", starts_at=at, ends_at=at)
    second = Meeting(id=2, case_id=1, mode="video", starts_at=at + timedelta(days=90), ends_at=at)
    cancelled = Meeting(id=3, case_id=1, mode="video", starts_at=at - timedelta(days=1), ends_at=at)
    cancelled.status = "cancelled"
    first.status = "held"  # before a meeting is held, booked ones are each "Meeting" (with their dates)
    labels = meeting_labels([second, cancelled, first])
    assert len(set(labels.values())) == 3
    assert labels[1] != labels[2]


def test_two_booked_meetings_are_told_apart_on_every_page(
    client, db_session, registry, parties, ready, book, frozen_clock
):
    first = book()
    later = first.starts_at + timedelta(days=1)
    with unit_of_work(db_session):
        case = db_session.get(SipCase, ready.case.id)
        second_id = meeting_services.book(
            db_session,
            registry,
            parties.region_user,
            case,
            {
                "meeting_starts_at": later,
                "meeting_ends_at": later + timedelta(hours=1),
                "mode": "video",
                "invitee_ids": [ready.region.id],
            },
            expected_version=case.version,
            now=now_utc(),
        )
    frozen_clock.set(first.starts_at + timedelta(hours=1))
    assert login(client, parties.region_user.username).status_code == 302
    second = db_session.get(Meeting, second_id)
    labels = meeting_labels([first, second])
    # Neither is held, so neither is known to be the first: each is told apart by its label and date.
    shown = {m.id: f"{labels[m.id]}, {to_local(m.starts_at):%Y-%m-%d %H:%M}" for m in (first, second)}
    assert shown[first.id] != shown[second_id]
    case_page = text_of(client.get(f"/cases/{ready.case.uid}"))
    assert shown[first.id] in case_page and shown[second_id] in case_page
    assert shown[second_id] in text_of(client.get(f"/cases/{ready.case.uid}/meetings/{second_id}"))
    # The outcome page offers both, the first booked chosen; its attendance follows the chosen one's answers.
    outcome = text_of(client.get(outcome_url(ready.case)))
    assert shown[first.id] in outcome and shown[second_id] in outcome
    assert dict(forms_of(outcome)[outcome_url(ready.case)])["meeting_id"] == str(first.id)
    chosen = forms_of(text_of(client.get(f"{outcome_url(ready.case)}?meeting={second_id}")))
    assert dict(chosen[outcome_url(ready.case)])["meeting_id"] == str(second_id)


def test_a_decisions_date_that_is_no_date_is_refused_in_the_pages_language(client, ready, held, parties):
    # Typed where a browser offers no date picker: the row's refusal reads as the page does (Swedish).
    row = {
        "decisions-0-text": "Kontakta boendestödet",
        "decisions-0-owner": f"organisation:{parties.municipality.organisation_id}",
        "decisions-0-due_on": "3/12",
    }
    response = post(client, ready.case, page_form(client, ready.case), **row)
    assert response.status_code == 400
    page = text_of(response)
    assert re.search(r'id="decisions-0-due_on-error">\s*<li>Inte ett giltigt datum\.</li>', page), page


def test_a_decision_due_before_the_meeting_is_refused_at_its_row(client, db_session, ready, held, parties):
    before = snapshot(db_session, ready.case)
    row = {
        "decisions-0-text": "Kontakta boendestödet",
        "decisions-0-owner": f"organisation:{parties.municipality.organisation_id}",
        "decisions-0-due_on": (to_local(held.starts_at).date() - timedelta(days=1)).isoformat(),
    }
    response = post(client, ready.case, page_form(client, ready.case), **row)
    page = text_of(response)
    assert response.status_code == 400
    assert 'id="decisions-0-due_on-error"' in page and "före mötet" in page
    assert "Kontakta boendestödet" in page
    assert snapshot(db_session, ready.case) == before
