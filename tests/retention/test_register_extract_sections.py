"""The registerutdrag holds the meeting's room, the invitations and answers, the mails and the personal links,
each read once for all the person's cases; a närstående's address and own words are kept back; an
anonymised case is listed as such, with its date and without what was cleared."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import event
from sqlmodel import select

from sipflow.cases.models import Participant, SipCase, TransitionLog
from sipflow.db import unit_of_work
from sipflow.meetings.models import Invitation, Meeting
from sipflow.notifications.models import OutboxMessage
from sipflow.plans.models import PersonalLink, Plan, PlanContact, PlanEffort, PlanGoal
from sipflow.reminders.models import Reminder
from sipflow.retention.anonymise import RetentionPolicy, anonymise_expired_cases
from sipflow.retention.export import person_export, person_export_json
from sipflow.security import audit

YEAR = timedelta(days=365)
KIM = "kim.svensson@example.se"
BIRGITTA = "birgitta@example.se"
STAFF = "handlaggare@vaxjo.example.se"
BIRGITTAS_WORDS = "Jag ligger inne på lasarettet den veckan."


@pytest.fixture
def full_case(db_session, create_case, parties, now):
    """Factory: a case with a booked meeting (room), invitations answered, mails sent and personal links."""

    def make(*, person_id=None, at=None):
        at = at or now - timedelta(days=20)
        case = create_case()
        if person_id is not None:
            case.person_id = person_id
            db_session.add(case)
        participants = db_session.exec(select(Participant).where(Participant.case_id == case.id)).all()
        kim = next(p for p in participants if p.kind == "person")
        kim.email = KIM
        organisation = next(p for p in participants if p.kind == "organisation")
        relative = Participant(
            case_id=case.id, kind="narstaende", name="Birgitta Svensson", relation="mamma", email=BIRGITTA,
            added_at=at,
        )  # fmt: skip
        db_session.add_all([kim, relative])
        meeting = Meeting(
            case_id=case.id,
            mode="mixed",
            starts_at=at + timedelta(days=10),
            ends_at=at + timedelta(days=10, hours=1),
            location="Vårdcentralen Teleborg",
            room="Rum 3, plan 2",
            booked_by_user_id=parties.region_user.id,
        )
        db_session.add(meeting)
        db_session.flush()
        answers = [
            (kim, KIM, "ACCEPTED", "on_site", "Jag kommer med rullator."),
            (relative, BIRGITTA, "DECLINED", None, BIRGITTAS_WORDS),
            (organisation, STAFF, "TENTATIVE", "video", "Kan bli sen."),
        ]
        invitations = {}
        for participant, address, partstat, mode, comment in answers:
            invitations[participant.id] = Invitation(
                meeting_id=meeting.id,
                participant_id=participant.id,
                email=address,
                partstat=partstat,
                answer_mode=mode,
                comment=comment,
                answered_at=at + timedelta(days=1),
                answered_via="link",
                invited_at=at,
            )
        db_session.add_all(invitations.values())
        db_session.flush()
        for participant, address, *_ in answers:
            db_session.add(
                OutboxMessage(
                    kind="request",
                    case_id=case.id,
                    invitation_id=invitations[participant.id].id,
                    recipient=address,
                    subject="Kallelse till SIP-möte",
                    message=f"To: {address}\n\nVälkommen.",
                    message_id=f"<{participant.id}@sipflow.example>",
                    status="sent",
                    next_attempt_at=at,
                    sent_at=at,
                    created_at=at,
                )
            )
        for participant, address in ((kim, KIM), (relative, BIRGITTA)):
            db_session.add(
                OutboxMessage(
                    kind="plan_link",
                    case_id=case.id,
                    recipient=address,
                    subject="Din länk till planen",
                    message="To: ...",
                    message_id=f"<link-{participant.id}@sipflow.example>",
                    status="sent",
                    next_attempt_at=at,
                    sent_at=at,
                    created_at=at + timedelta(days=2),
                )
            )
            db_session.add(
                PersonalLink(
                    person_id=case.person_id,
                    case_id=case.id,
                    participant_id=participant.id,
                    sent_to=address,
                    created_at=at + timedelta(days=2),
                    created_by_user_id=parties.region_user.id,
                    expires_at=at + timedelta(days=32),
                )
            )
        db_session.commit()
        return case, {"kim": kim.id, "relative": relative.id, "organisation": organisation.id}

    return make


def test_the_registerutdrag_holds_room_invitations_mails_and_links(db_session, full_case, now):
    case, ids = full_case()
    document = json.loads(person_export_json(db_session, case.person_id, now=now))
    exported = document["cases"][0]
    assert exported["anonymised_at"] is None
    meeting = exported["meetings"][0]
    assert (meeting["location"], meeting["room"]) == ("Vårdcentralen Teleborg", "Rum 3, plan 2")
    invited = {i["participant_id"]: i for i in meeting["invitations"]}
    assert {k: invited[ids["kim"]][k] for k in ("email", "partstat", "answer_mode", "comment")} == {
        "email": KIM,
        "partstat": "ACCEPTED",
        "answer_mode": "on_site",
        "comment": "Jag kommer med rullator.",
    }
    assert invited[ids["organisation"]]["email"] == STAFF
    assert invited[ids["organisation"]]["comment"] == "Kan bli sen."
    # The närstående's answer is there; their address and their own words are theirs (art. 15(4)).
    relative = invited[ids["relative"]]
    assert relative["partstat"] == "DECLINED" and relative["comment_withheld"] is True
    assert relative["email"] is None and relative["comment"] is None

    mails = exported["mails"]
    assert [(m["kind"], m["recipient"], m["status"]) for m in mails] == [
        ("request", KIM, "sent"),
        ("request", None, "sent"),
        ("request", STAFF, "sent"),
        ("plan_link", KIM, "sent"),
        ("plan_link", None, "sent"),
    ]
    assert [m["recipient_is_other_person"] for m in mails] == [False, True, False, False, True]
    assert mails[0]["subject"] == "Kallelse till SIP-möte" and mails[0]["sent_at"]
    assert "message" not in mails[0]

    links = {link["participant_id"]: link for link in exported["personal_links"]}
    assert links[ids["kim"]]["sent_to"] == KIM and links[ids["kim"]]["expires_at"]
    assert links[ids["relative"]]["sent_to"] is None
    text = json.dumps(document, ensure_ascii=False)
    assert BIRGITTA not in text and BIRGITTAS_WORDS not in text


def test_the_registerutdrag_reads_each_table_once_whatever_the_number_of_cases(
    db_session, full_case, engine, now
):
    def statements(person_id) -> int:
        counted = []

        def count(*_args):
            counted.append(1)

        event.listen(engine, "before_cursor_execute", count)
        try:
            db_session.expire_all()
            person_export(db_session, person_id, now=now)
        finally:
            event.remove(engine, "before_cursor_execute", count)
        return len(counted)

    first, _ = full_case()
    one = statements(first.person_id)
    for _ in range(3):
        full_case(person_id=first.person_id)
    assert len(person_export(db_session, first.person_id, now=now)["cases"]) == 4
    assert statements(first.person_id) == one


def test_an_anonymised_case_is_listed_as_anonymised_with_its_date(db_session, full_case, app, now):
    ended_at = now - 11 * YEAR
    case, ids = full_case(at=ended_at - timedelta(days=60))
    case.state = "closed"
    case.questions = "Hur ska Kim få en egen lägenhet?"
    case.requested_at = case.created_at = ended_at - timedelta(days=90)
    case.updated_at = ended_at
    db_session.add(case)
    for log in db_session.exec(select(TransitionLog).where(TransitionLog.case_id == case.id)).all():
        log.at = case.requested_at
        db_session.add(log)
    db_session.add(
        TransitionLog(
            case_id=case.id, at=ended_at, trigger="close", from_state="follow_up", to_state="closed"
        )
    )
    db_session.commit()
    assert anonymise_expired_cases(db_session, now=now, policy=RetentionPolicy.from_app(app)) == 1
    db_session.commit()
    db_session.expire_all()

    exported = person_export(db_session, case.person_id, now=now)["cases"][0]
    assert exported["anonymised_at"] == now.isoformat()
    assert exported["reference"] == db_session.get(SipCase, case.id).reference
    assert exported["state"] == "closed" and exported["questions"] is None
    meeting = exported["meetings"][0]
    assert meeting["room"] is None and meeting["location"] is None
    assert all(i["email"] is None and i["comment"] is None for i in meeting["invitations"])
    assert [i["partstat"] for i in meeting["invitations"]] == ["ACCEPTED", "DECLINED", "TENTATIVE"]
    assert [m["recipient"] for m in exported["mails"]] == [None] * 5
    assert [link["sent_to"] for link in exported["personal_links"]] == [None, None]


def test_the_registerutdrag_says_which_link_a_read_without_a_user_went_through(db_session, full_case, now):
    """The loggutdrag names such a read "Personlig länk nr N" or "Svarslänk i inbjudan nr N": the
    registerutdrag gives the same number, and the links and invitations it lists carry theirs."""
    case, ids = full_case()
    link = db_session.exec(
        select(PersonalLink).where(PersonalLink.case_id == case.id, PersonalLink.participant_id == ids["kim"])
    ).one()
    invitation = db_session.exec(select(Invitation).where(Invitation.participant_id == ids["relative"])).one()
    with unit_of_work(db_session):
        audit.record_link_access(
            db_session, action=audit.PLAN_LINK_VIEW, case=case, link_id=link.id, now=now - timedelta(hours=2)
        )
        audit.record_link_access(
            db_session,
            action=audit.MEETING_LINK_VIEW,
            case=case,
            link_id=invitation.id,
            now=now - timedelta(hours=1),
        )
    document = person_export(db_session, case.person_id, now=now)
    reads = [row for row in document["access_log"] if row["user"] is None]
    assert [(row["action"], row["link_id"], row["link_kind"]) for row in reads] == [
        (audit.PLAN_LINK_VIEW, link.id, "personal_link"),
        (audit.MEETING_LINK_VIEW, invitation.id, "invitation"),
    ]
    exported = document["cases"][0]
    assert link.id in [row["id"] for row in exported["personal_links"]]
    invited = {i["id"]: i for i in exported["meetings"][0]["invitations"]}
    # The read went through the närstående's answer link: their invitation, named by participant.
    assert invited[invitation.id]["participant_id"] == ids["relative"]
    # A row through no link says so.
    assert all(row["link_id"] is None and row["link_kind"] is None for row in document["access_log"][:1])


def test_the_registerutdrag_holds_the_working_plan_before_any_version(db_session, full_case, parties, now):
    """A plan not yet established (the preparation's own goals, the needs, the efforts so far) is data about
    the person as much as a frozen version is."""
    case, _ids = full_case()
    plan = Plan(case_id=case.id, needs="Stöd med boendet", fast_vardkontakt="Dr Ek, vårdcentralen")
    db_session.add(plan)
    db_session.flush()
    db_session.add(PlanGoal(plan_id=plan.id, kind="own", text="Att få en egen lägenhet", position=0))
    db_session.add(
        PlanEffort(
            plan_id=plan.id,
            what="Boendestöd två gånger i veckan",
            organisation_id=parties.municipality.organisation_id,
            responsible="Sara Ek",
            position=0,
        )
    )
    db_session.add(
        PlanContact(
            plan_id=plan.id,
            organisation_id=parties.municipality.organisation_id,
            name="Sara Ek",
            phone="0470-1",
        )
    )
    db_session.commit()
    exported = person_export(db_session, case.person_id, now=now)["cases"][0]["plan"]
    assert exported["versions"] == []
    working = exported["working_plan"]
    assert working["needs"] == "Stöd med boendet"
    assert working["fast_vardkontakt"] == "Dr Ek, vårdcentralen"
    assert [(g["kind"], g["text"]) for g in working["goals"]] == [("own", "Att få en egen lägenhet")]
    [effort] = working["efforts"]
    assert (effort["what"], effort["organisation"], effort["responsible"]) == (
        "Boendestöd två gånger i veckan",
        "Växjö kommun",
        "Sara Ek",
    )
    assert [(c["name"], c["phone"], c["organisation"]) for c in working["contacts"]] == [
        ("Sara Ek", "0470-1", "Växjö kommun")
    ]


def test_a_narstaendes_address_is_kept_back_after_it_was_corrected(db_session, full_case, now):
    """A närstående's address corrected since (their invitation to the meeting ahead moved with it): the mails
    sent to the old one, the personal link and a reminder, went to them all the same."""
    case, ids = full_case()
    relative = db_session.get(Participant, ids["relative"])
    relative.email = "birgitta.ny@example.se"
    invitation = db_session.exec(select(Invitation).where(Invitation.participant_id == relative.id)).one()
    invitation.email = "birgitta.ny@example.se"
    db_session.add_all([relative, invitation])
    reminder = Reminder(
        kind="meeting_tomorrow",
        dedupe_key=f"test-{case.id}",
        case_id=case.id,
        meeting_id=invitation.meeting_id,
        invitation_id=invitation.id,
        template="meeting_tomorrow",
        due_at=now - timedelta(days=3),
        status="sent",
        created_at=now - timedelta(days=5),
    )
    db_session.add(reminder)
    db_session.flush()
    db_session.add(
        OutboxMessage(
            kind="reminder",
            case_id=case.id,
            reminder_id=reminder.id,
            recipient=BIRGITTA,
            subject="Påminnelse: SIP-möte i morgon",
            message="To: ...",
            message_id=f"<reminder-{reminder.id}@sipflow.example>",
            status="sent",
            next_attempt_at=now - timedelta(days=3),
            sent_at=now - timedelta(days=3),
            created_at=now - timedelta(days=3),
        )
    )
    db_session.commit()
    document = person_export(db_session, case.person_id, now=now)
    text = json.dumps(document, ensure_ascii=False)
    assert BIRGITTA not in text and "birgitta.ny@example.se" not in text
    mails = document["cases"][0]["mails"]
    assert [m["recipient_is_other_person"] for m in mails if m["kind"] in ("plan_link", "reminder")] == [
        False,
        True,
        True,
    ]
