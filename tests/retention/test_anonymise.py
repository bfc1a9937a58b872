"""Retention: ended cases anonymised after their years, persons once all their cases are; only once."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from flask import render_template
from sqlalchemy import event
from sqlmodel import Session, func, select

from sipflow import create_app
from sipflow.cases.models import Deadline, Participant, SipCase, TransitionLog
from sipflow.clock import now_utc
from sipflow.config import PROJECT_ROOT, ConfigError, load_config
from sipflow.consent.models import Consent, ConsentOrganisation
from sipflow.meetings.models import Attendance, Invitation, Meeting, MeetingDecision
from sipflow.notifications.models import OutboxMessage
from sipflow.people.identifiers import parse_identifier
from sipflow.people.models import Person
from sipflow.people.services import find_person, identifier_hash
from sipflow.plans.models import (
    HuvudansvarTransfer,
    PersonalLink,
    Plan,
    PlanContact,
    PlanEffort,
    PlanGoal,
    PlanVersion,
)
from sipflow.plans.versions import version_summaries
from sipflow.reminders.models import Reminder
from sipflow.retention.anonymise import (
    ANONYMOUS_GIVEN_NAME,
    RetentionPolicy,
    anonymise_expired_cases,
    run_retention,
    years_before,
)
from sipflow.retention.cli import retention_group
from sipflow.retention.export import person_export
from sipflow.retention.models import AnonymisedCase, AnonymisedPerson
from sipflow.workflow.definition import load_workflow_file

YEAR = timedelta(days=365)
# The retention_years the shipped workflow files give their final states.
SHIPPED = {"closed": 10, "withdrawn": 10, "declined": 5, "cancelled": 1}


@pytest.fixture
def policy(app):
    return RetentionPolicy.from_app(app)


@pytest.fixture
def ended_case(db_session, create_case, parties, now):
    """Factory: a case that reached state at ended_at, with free text everywhere retention must clear."""

    def make(state: str = "closed", ended_at=None, *, person=None, workflow: str = "sip"):
        ended_at = ended_at or now - 11 * YEAR
        case = create_case(workflow)
        if person is not None:
            case.person_id = person.id
        case.requested_at = case.created_at = ended_at - timedelta(days=90)
        case.state = state
        case.updated_at = ended_at
        case.questions = "Hur ska Kim få en egen lägenhet?"
        case.child_view = "Jag vill bo hos mamma."
        case.closed_reason = "Kim flyttade till Malmö." if state == "closed" else None
        db_session.add(case)
        db_session.flush()
        for log in db_session.exec(select(TransitionLog).where(TransitionLog.case_id == case.id)).all():
            log.at = case.requested_at
            db_session.add(log)
        relative = Participant(
            case_id=case.id,
            kind="narstaende",
            name="Birgitta Svensson",
            relation="mamma",
            email="birgitta@example.se",
            phone="070-123 45 67",
            added_at=case.requested_at,
        )
        db_session.add(relative)
        # A närstående taken off the SIP: the reason given may name people too.
        db_session.add(
            Participant(
                case_id=case.id,
                kind="narstaende",
                name="Per Svensson",
                added_at=case.requested_at,
                removed_at=case.requested_at + timedelta(days=1),
                removed_reason="Per och Kim har ingen kontakt längre.",
            )
        )
        consent = Consent(
            case_id=case.id,
            decision="given",
            given_by="person",
            given_by_name="Kim Svensson",
            form="written",
            information_scope="Journalanteckningar om boende",
            recorded_at=case.requested_at,
            recorded_by_user_id=parties.region_user.id,
            withdrawn_at=ended_at if state == "withdrawn" else None,
            withdrawn_reason="Vill inte längre." if state == "withdrawn" else None,
        )
        db_session.add(consent)
        db_session.flush()
        db_session.add(
            ConsentOrganisation(consent_id=consent.id, organisation_id=parties.municipality.organisation_id)
        )
        meeting = Meeting(
            case_id=case.id,
            kind="first",
            status="held",
            mode="mixed",
            starts_at=ended_at - timedelta(days=30),
            ends_at=ended_at - timedelta(days=30) + timedelta(hours=1),
            location="Hemma hos Kim, Storgatan 1",
            room="Rum HEMLIGRUM",
            video_url="https://video.example.se/sip/abc",
            held_at=ended_at - timedelta(days=30),
            no_change_reason="Kim ville vänta på bostadsbeskedet.",
        )
        db_session.add(meeting)
        db_session.flush()
        db_session.add(Attendance(meeting_id=meeting.id, participant_id=relative.id, mode="video"))
        # What the relative was sent and answered: their address, their own words, the mail as sent.
        db_session.add(
            Invitation(
                meeting_id=meeting.id,
                participant_id=relative.id,
                email="birgitta@example.se",
                partstat="DECLINED",
                comment="Jag ligger inne på lasarettet den veckan.",
                invited_at=meeting.starts_at - timedelta(days=14),
            )
        )
        outbox = OutboxMessage(
            kind="request",
            case_id=case.id,
            recipient="birgitta@example.se",
            subject=f"SIP-möte {case.reference}",
            message="To: birgitta@example.se\n\nHej Birgitta Svensson, välkommen till Storgatan 1.",
            message_id="<retention-test@sipflow.example>",
            status="sent",
            next_attempt_at=meeting.starts_at - timedelta(days=14),
            sent_at=meeting.starts_at - timedelta(days=14),
            last_error="SMTPRecipientsRefused",
            created_at=meeting.starts_at - timedelta(days=14),
        )
        db_session.add(outbox)
        db_session.flush()
        db_session.add(
            Reminder(
                kind="workflow",
                dedupe_key=f"retention-test-{case.id}",
                case_id=case.id,
                template="meeting_tomorrow",
                recipient_address="birgitta@example.se",
                due_at=meeting.starts_at - timedelta(days=1),
                status="sent",
                outbox_id=outbox.id,
                created_at=meeting.starts_at - timedelta(days=14),
            )
        )
        db_session.add(
            MeetingDecision(meeting_id=meeting.id, text="Söka bostad åt Kim", due_on=date(2015, 1, 1))
        )
        _plan_with_text(db_session, case, parties, relative, ended_at)
        db_session.add(
            TransitionLog(
                case_id=case.id,
                at=ended_at - timedelta(days=30),
                user_id=parties.region_user.id,
                trigger="hold_meeting",
                from_state="invited",
                to_state="meeting_held",
                details={
                    "meeting_id": meeting.id,
                    "decisions": [{"text": "Söka bostad", "owner": "Sara", "due_on": "2015-01-01"}],
                    "no_change_reason": "Kim mådde dåligt",
                    "channel": "Lifecare",
                },
            )
        )
        db_session.add(
            TransitionLog(
                case_id=case.id,
                at=ended_at,
                user_id=parties.region_user.id,
                trigger="close",
                from_state="follow_up",
                to_state=state,
                reason="Kim flyttade till Malmö.",
            )
        )
        db_session.commit()
        return case

    return make


def _plan_with_text(db_session, case, parties, relative, ended_at) -> None:
    """A plan with text in every field, a frozen version with its PDF, a hand-over and a personal link."""
    plan = Plan(
        case_id=case.id,
        needs="Boende och sysselsättning",
        huvudansvar_contact="Sara Lind, 0470-123 45",
        fast_vardkontakt="Dr Ek, psykosmottagningen",
        fast_omsorgskontakt="Lisa Berg, boendestöd",
        child_view_missing_reason="Kim är vuxen.",
    )
    db_session.add(plan)
    db_session.flush()
    db_session.add(PlanGoal(plan_id=plan.id, kind="own", text="Att få en egen lägenhet"))
    db_session.add(
        PlanEffort(plan_id=plan.id, what="Bostadssökande", responsible="Sara Lind", actor="Kims mamma")
    )
    db_session.add(
        PlanContact(
            plan_id=plan.id,
            organisation_id=parties.municipality.organisation_id,
            name="Sara Lind",
            phone="0470-123 45",
            email="sara@example.se",
        )
    )
    db_session.add(
        PlanVersion(
            case_id=case.id,
            number=1,
            trigger="establish_plan",
            established_at=ended_at - timedelta(days=29),
            content={"person": {"name": "Kim Svensson"}, "own_goals": [{"text": "Att få en egen lägenhet"}]},
            pdf=b"%PDF Kim Svensson",
            pdf_sha256="a" * 64,
        )
    )
    db_session.add(
        HuvudansvarTransfer(
            case_id=case.id,
            at=ended_at - timedelta(days=29),
            to_organisation_id=parties.municipality.organisation_id,
            reason="Kim bor nu i kommunen.",
        )
    )
    db_session.add(
        PersonalLink(
            person_id=case.person_id,
            case_id=case.id,
            participant_id=relative.id,
            sent_to="narstaende@example.se",
            created_at=ended_at - timedelta(days=29),
            expires_at=ended_at + 40 * YEAR,
        )
    )


def coded_meeting_fields(case, meeting, parties) -> dict:
    """The fields of a KVÅ code record (XU045, recorded by the region) of an ended_case's held meeting."""
    return dict(
        case_id=case.id,
        meeting_id=meeting.id,
        unit_id=parties.region.id,
        organisation_id=parties.region.organisation_id,
        code="XU045",
        kind="sip",
        held_on=meeting.starts_at.date(),
        meeting_kind=meeting.kind,
        person_id=case.person_id,
        municipality_code=case.municipality_code,
        legal_sex="female",
        occasion=case.occasion,
        organisation_kind="region",
        recorded_at=meeting.starts_at,
    )


def reload(db_session, model, key):
    db_session.expire_all()
    return db_session.get(model, key)


def run(db_session, policy, now) -> int:
    count = anonymise_expired_cases(db_session, now=now, policy=policy)
    db_session.commit()
    return count


def case_text(db_session, case_id) -> dict:
    """Every free-text value the case holds anywhere, by where it is."""
    db_session.expire_all()
    case = db_session.get(SipCase, case_id)
    # In id order: without ORDER BY the order follows whichever index the planner picks.
    logs = db_session.exec(
        select(TransitionLog).where(TransitionLog.case_id == case_id).order_by(TransitionLog.id)
    ).all()
    consents = db_session.exec(select(Consent).where(Consent.case_id == case_id).order_by(Consent.id)).all()
    participants = db_session.exec(
        select(Participant).where(Participant.case_id == case_id).order_by(Participant.id)
    ).all()
    meetings = db_session.exec(select(Meeting).where(Meeting.case_id == case_id).order_by(Meeting.id)).all()
    decisions = db_session.exec(
        select(MeetingDecision).where(MeetingDecision.meeting_id.in_([m.id for m in meetings]))
    ).all()
    plan = db_session.exec(select(Plan).where(Plan.case_id == case_id)).first()
    plan_id = plan.id if plan else None
    goals = db_session.exec(select(PlanGoal).where(PlanGoal.plan_id == plan_id)).all()
    efforts = db_session.exec(select(PlanEffort).where(PlanEffort.plan_id == plan_id)).all()
    contacts = db_session.exec(select(PlanContact).where(PlanContact.plan_id == plan_id)).all()
    versions = db_session.exec(select(PlanVersion).where(PlanVersion.case_id == case_id)).all()
    transfers = db_session.exec(
        select(HuvudansvarTransfer).where(HuvudansvarTransfer.case_id == case_id)
    ).all()
    invitations = db_session.exec(
        select(Invitation).where(Invitation.meeting_id.in_([m.id for m in meetings]))
    ).all()
    mails = db_session.exec(select(OutboxMessage).where(OutboxMessage.case_id == case_id)).all()
    reminders = db_session.exec(select(Reminder).where(Reminder.case_id == case_id)).all()
    links = db_session.exec(select(PersonalLink).where(PersonalLink.case_id == case_id)).all()
    return {
        "case": [case.questions, case.child_view, case.closed_reason],
        "reasons": [log.reason for log in logs],
        "details": [
            value for log in logs for key, value in (log.details or {}).items() if key not in ("meeting_id",)
        ],
        "consents": [
            value
            for c in consents
            for value in (c.given_by_name, c.information_scope, c.declined_reason, c.withdrawn_reason)
        ],
        "participants": [
            value for p in participants for value in (p.name, p.relation, p.email, p.phone, p.removed_reason)
        ],
        "meetings": [
            value for m in meetings for value in (m.location, m.room, m.video_url, m.no_change_reason)
        ],
        # Texts that must stay NOT NULL are emptied: "" counts as gone.
        "decisions": [d.text or None for d in decisions],
        "plan": [
            value
            for value in (
                (plan.needs, plan.huvudansvar_contact, plan.fast_vardkontakt, plan.fast_omsorgskontakt)
                + (plan.child_view_missing_reason,)
                if plan
                else ()
            )
        ],
        "goals": [g.text or None for g in goals],
        "efforts": [value for e in efforts for value in (e.what or None, e.responsible, e.actor)],
        "contacts": [value for c in contacts for value in (c.name or None, c.phone, c.email)],
        # A version keeps only its number, trigger and date; its content and PDF go.
        "versions": [None if v.content.get("scrubbed") else v.content for v in versions]
        + [v.pdf or None for v in versions],
        "transfers": [t.reason for t in transfers],
        "invitations": [value for i in invitations for value in (i.email, i.comment)],
        # A mail keeps its subject (never personal) and its status; whom it went to and what it said go.
        "outbox": [value or None for m in mails for value in (m.recipient, m.message, m.last_error)],
        "reminders": [r.recipient_address for r in reminders],
        "links": [link.sent_to for link in links],
    }


def no_text_left(texts: dict) -> bool:
    return all(value is None for values in texts.values() for value in values)


# --- Which cases ------------------------------------------------------------------------------------------


def test_an_expired_closed_case_loses_all_its_free_text(db_session, ended_case, policy, now):
    case = ended_case("closed", now - 10 * YEAR - timedelta(days=3))
    assert not no_text_left(case_text(db_session, case.id))
    assert run(db_session, policy, now) == 1
    assert no_text_left(case_text(db_session, case.id))
    record = reload(db_session, AnonymisedCase, case.id)
    assert record.final_state == "closed" and record.anonymised_at == now


def test_an_anonymised_case_revokes_its_personal_links(db_session, ended_case, policy, now):
    case = ended_case("closed", now - 10 * YEAR - timedelta(days=3))
    assert run(db_session, policy, now) == 1
    db_session.expire_all()
    links = db_session.exec(select(PersonalLink).where(PersonalLink.case_id == case.id)).all()
    assert links and all(link.revoked_at is not None for link in links)


def test_an_anonymised_cases_versions_are_listed_without_their_pdf(db_session, ended_case, policy, now, app):
    case = ended_case("closed", now - 10 * YEAR - timedelta(days=3))
    assert [v.scrubbed for v in version_summaries(db_session, case)] == [False]
    assert run(db_session, policy, now) == 1
    db_session.expire_all()
    assert [(v.number, v.scrubbed) for v in version_summaries(db_session, case)] == [(1, True)]
    listed = version_summaries(db_session, case)
    with app.test_request_context():
        html = render_template("plans/version_case_part.html", case=case, plan_versions=listed)
    assert "/pdf" not in html and "Borttagen när gallringstiden gick ut" in html


def test_the_registerutdrag_holds_the_plan_and_the_meeting_outcome(db_session, ended_case, now):
    case = ended_case("closed", now - YEAR)
    exported = person_export(db_session, case.person_id, now=now)["cases"][0]
    meeting = exported["meetings"][0]
    assert meeting["no_change_reason"] == "Kim ville vänta på bostadsbeskedet."
    assert [d["text"] for d in meeting["decisions"]] == ["Söka bostad åt Kim"]
    assert [v["number"] for v in exported["plan"]["versions"]] == [1]
    assert exported["plan"]["versions"][0]["content"]["own_goals"] == [{"text": "Att få en egen lägenhet"}]
    assert [t["reason"] for t in exported["plan"]["huvudansvar_transfers"]] == ["Kim bor nu i kommunen."]


def test_a_case_within_its_retention_is_untouched(db_session, ended_case, policy, now):
    case = ended_case("closed", now - 9 * YEAR)
    before = case_text(db_session, case.id)
    assert run(db_session, policy, now) == 0
    assert case_text(db_session, case.id) == before
    assert reload(db_session, AnonymisedCase, case.id) is None


def test_the_retention_is_counted_from_the_final_transition(db_session, ended_case, policy, now):
    case = ended_case("closed", years_before(now, 10) + timedelta(minutes=1))
    assert run(db_session, policy, now) == 0
    assert run(db_session, policy, now + timedelta(minutes=1)) == 1
    assert reload(db_session, AnonymisedCase, case.id) is not None


def test_each_final_state_has_its_own_retention(db_session, ended_case, policy, now):
    workflows = ("sip", "sip_child", "sip_discharge")
    assert dict(policy.years) == {(w, state): years for w in workflows for state, years in SHIPPED.items()}
    six_years_ago = now - 6 * YEAR
    declined = ended_case("declined", six_years_ago)
    withdrawn = ended_case("withdrawn", six_years_ago)
    cancelled = ended_case("cancelled", now - 2 * YEAR)
    closed = ended_case("closed", six_years_ago)
    assert run(db_session, policy, now) == 2
    done = set(db_session.exec(select(AnonymisedCase.case_id)).all())
    assert done == {declined.id, cancelled.id}
    assert withdrawn.id not in done and closed.id not in done


def test_a_configured_retention_applies(db_session, ended_case, app, now):
    case = ended_case("closed", now - 4 * YEAR)
    short = RetentionPolicy(years={**RetentionPolicy.from_app(app).years, ("sip", "closed"): 3}, hash_key="k")
    assert run(db_session, short, now) == 1
    assert reload(db_session, AnonymisedCase, case.id) is not None


def test_an_open_case_is_never_anonymised_however_old(db_session, create_case, policy, now):
    case = create_case()
    case.requested_at = case.created_at = case.updated_at = now - 30 * YEAR
    case.questions = "Fortfarande aktuell"
    db_session.add(case)
    db_session.commit()
    assert run(db_session, policy, now) == 0
    assert reload(db_session, SipCase, case.id).questions == "Fortfarande aktuell"


# --- What stays -------------------------------------------------------------------------------------------


def test_what_statistics_count_is_kept(db_session, ended_case, policy, now, parties):
    case = ended_case("closed")
    meeting_before = db_session.exec(select(Meeting).where(Meeting.case_id == case.id)).one()
    deadlines_before = db_session.exec(select(func.count()).select_from(Deadline)).one()
    person_before = db_session.get(Person, case.person_id)
    sex, municipality, birth = (
        person_before.legal_sex,
        person_before.home_municipality_code,
        person_before.birth_date,
    )
    assert run(db_session, policy, now) == 1
    after = reload(db_session, SipCase, case.id)
    assert (after.state, after.occasion, after.workflow_name) == ("closed", case.occasion, case.workflow_name)
    assert (
        after.requested_at == case.requested_at
        and after.initiating_organisation_id == case.initiating_organisation_id
    )
    meeting = db_session.exec(select(Meeting).where(Meeting.case_id == case.id)).one()
    assert (meeting.mode, meeting.status, meeting.kind) == ("mixed", "held", "first")
    assert meeting.held_at == meeting_before.held_at and meeting.starts_at == meeting_before.starts_at
    assert [
        a.mode for a in db_session.exec(select(Attendance).where(Attendance.meeting_id == meeting.id))
    ] == ["video"]
    relative = db_session.exec(
        select(Participant).where(
            Participant.case_id == case.id, Participant.kind == "narstaende", Participant.active
        )
    ).one()
    assert relative.added_at is not None
    consent = db_session.exec(select(Consent).where(Consent.case_id == case.id)).one()
    assert (consent.decision, consent.form, consent.given_by) == ("given", "written", "person")
    assert db_session.exec(
        select(ConsentOrganisation).where(ConsentOrganisation.consent_id == consent.id)
    ).all()
    logs = db_session.exec(select(TransitionLog).where(TransitionLog.case_id == case.id)).all()
    held = next(log for log in logs if log.trigger == "hold_meeting")
    assert held.details == {"meeting_id": meeting.id}
    assert {log.to_state for log in logs} >= {"meeting_held", "closed"}
    assert db_session.exec(select(func.count()).select_from(Deadline)).one() == deadlines_before
    person = reload(db_session, Person, case.person_id)
    assert (person.legal_sex, person.home_municipality_code) == (sex, municipality)
    assert person.birth_date == date(birth.year, 1, 1)


# --- Persons ----------------------------------------------------------------------------------------------


def test_the_person_is_anonymised_with_their_last_case(db_session, ended_case, policy, now, app):
    case = ended_case("closed")
    person = db_session.get(Person, case.person_id)
    old_number, old_hash = person.id_number, person.id_hash
    identifier = parse_identifier(old_number, today=now.date())
    assert run(db_session, policy, now) == 1
    person = reload(db_session, Person, case.person_id)
    assert person.given_name == ANONYMOUS_GIVEN_NAME and "Testa" not in (
        person.given_name,
        person.family_name,
    )
    assert person.id_kind == "reservnummer" and person.id_number != old_number and person.id_hash != old_hash
    assert person.id_hash == identifier_hash(app.config["PNR_HASH_KEY"], person.id_number)
    parse_identifier(person.id_number, today=now.date(), kind="reservnummer")  # a valid reservnummer
    assert find_person(db_session, app.config["PNR_HASH_KEY"], identifier) is None
    assert reload(db_session, AnonymisedPerson, person.id).anonymised_at == now


def test_the_person_stays_while_one_of_their_cases_is_kept(db_session, ended_case, make_person, policy, now):
    person = make_person()
    old = ended_case("closed", now - 11 * YEAR, person=person)
    recent = ended_case("closed", now - 2 * YEAR, person=person)
    assert run(db_session, policy, now) == 1
    assert reload(db_session, AnonymisedCase, old.id) is not None
    assert reload(db_session, AnonymisedCase, recent.id) is None
    kept = reload(db_session, Person, person.id)
    assert kept.given_name == "Testa" and kept.id_number == person.id_number
    assert reload(db_session, AnonymisedPerson, person.id) is None
    # Eight years on, the second case has run out too, and the person goes with it.
    assert run(db_session, policy, now + 9 * YEAR) == 1
    assert reload(db_session, Person, person.id).given_name == ANONYMOUS_GIVEN_NAME


def test_a_person_with_an_open_case_is_kept(db_session, ended_case, create_case, policy, now):
    old = ended_case("closed")
    open_case = create_case()
    open_case.person_id = old.person_id
    db_session.add(open_case)
    db_session.commit()
    assert run(db_session, policy, now) == 1
    assert reload(db_session, Person, old.person_id).given_name == "Testa"


def test_other_persons_are_untouched(db_session, ended_case, make_person, policy, now):
    bystander = make_person()
    ended_case("closed")
    assert run(db_session, policy, now) == 1
    assert reload(db_session, Person, bystander.id).given_name == "Testa"


# --- Once only --------------------------------------------------------------------------------------------


def test_running_twice_acts_once(db_session, ended_case, policy, now):
    first, second = ended_case("closed"), ended_case("cancelled", now - 3 * YEAR)
    assert run(db_session, policy, now) == 2
    persons = {p.id: (p.id_number, p.id_hash, p.given_name) for p in db_session.exec(select(Person)).all()}
    records = db_session.exec(select(AnonymisedCase).order_by(AnonymisedCase.case_id)).all()
    assert run(db_session, policy, now) == 0
    assert run(db_session, policy, now + YEAR) == 0
    db_session.expire_all()
    assert {
        p.id: (p.id_number, p.id_hash, p.given_name) for p in db_session.exec(select(Person)).all()
    } == persons
    assert [
        (r.case_id, r.anonymised_at)
        for r in db_session.exec(select(AnonymisedCase).order_by(AnonymisedCase.case_id))
    ] == [(r.case_id, r.anonymised_at) for r in records]
    assert db_session.exec(select(func.count()).select_from(AnonymisedPerson)).one() == 2
    assert {first.id, second.id} == {r.case_id for r in records}


def test_run_retention_works_in_batches(db_session, ended_case, policy, now):
    for _ in range(5):
        ended_case("closed")
    assert run_retention(db_session, now=now, policy=policy, batch=2) == 5
    assert run_retention(db_session, now=now, policy=policy, batch=2) == 0


def test_a_naive_now_is_refused(db_session, policy, now):
    with pytest.raises(ValueError, match="aware"):
        anonymise_expired_cases(db_session, now=now.replace(tzinfo=None), policy=policy)


# --- The command and the configuration --------------------------------------------------------------------


def test_the_command_runs_it_once_and_prints_the_count(app, engine, ended_case):
    real_now = now_utc()
    ended_case("closed", real_now - 11 * YEAR)
    ended_case("closed", real_now - 2 * YEAR)
    runner = app.test_cli_runner()
    result = runner.invoke(retention_group, ["run"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "anonymised 1 case"
    assert runner.invoke(retention_group, ["run"]).output.strip() == "anonymised 0 cases"
    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(AnonymisedCase)).one() == 1


def test_years_before_handles_a_leap_day(now):
    leap = now.replace(year=2024, month=2, day=29)
    assert years_before(leap, 1) == leap.replace(year=2023, day=28)
    assert years_before(now, 10) == now.replace(year=now.year - 10)


def test_retention_years_come_from_the_environment(registry):
    cfg = load_config(
        environ={"SIPFLOW_RETENTION_YEARS_CLOSED": "12", "SIPFLOW_RETENTION_YEARS_CANCELLED": "2"}
    )
    assert cfg["RETENTION_YEARS"] == {"closed": 12, "cancelled": 2}
    policy = RetentionPolicy.from_workflows(
        registry.workflows(), overrides=cfg["RETENTION_YEARS"], hash_key="k"
    )
    for workflow in registry.names():
        assert {state: policy.years[(workflow, state)] for state in SHIPPED} == {
            "closed": 12,
            "withdrawn": 10,
            "declined": 5,
            "cancelled": 2,
        }


@pytest.mark.parametrize("value", ["0", "-3", "ten", "101", ""])
@pytest.mark.parametrize("state", ["CLOSED", "WITHDRAWN", "DECLINED", "CANCELLED"])
def test_a_bad_retention_is_refused_naming_the_variable(state, value):
    with pytest.raises(ConfigError, match=f"SIPFLOW_RETENTION_YEARS_{state}"):
        load_config(environ={f"SIPFLOW_RETENTION_YEARS_{state}": value})


@pytest.mark.parametrize("value", ["5.5", "1e1", " "])
def test_a_retention_that_is_no_whole_number_is_refused_naming_the_variable(value):
    with pytest.raises(ConfigError, match="SIPFLOW_RETENTION_YEARS_CLOSED"):
        load_config(environ={"SIPFLOW_RETENTION_YEARS_CLOSED": value})


# --- Years from the workflow files ------------------------------------------------------------------------

WORKFLOWS_DIR = PROJECT_ROOT / "workflows"


def shipped_workflow(name: str, edit=None, tmp_path=None):
    """The shipped workflow file name, loaded as it is or after edit(text) from a copy in tmp_path."""
    path = WORKFLOWS_DIR / f"{name}.toml"
    if edit is not None:
        text = edit(path.read_text(encoding="utf-8"))
        path = tmp_path / f"{name}.toml"
        path.write_text(text, encoding="utf-8")
    # load_workflow_file, not a registry: a registry would publish the edited file to the whole process.
    return load_workflow_file(path)


def keep_closed_for(years: int):
    def edit(text: str) -> str:
        old = 'label = { sv = "Avslutad", en = "Closed" }\nfinal = true\nretention_years = 10\n'
        assert text.count(old) == 1
        return text.replace(old, old.replace("= 10", f"= {years}"))

    return edit


def test_each_workflow_file_gives_its_final_states_their_years(registry):
    for workflow in registry.workflows():
        assert workflow.retention_years == SHIPPED, workflow.name


def test_two_workflows_keep_the_same_state_for_different_years(db_session, ended_case, tmp_path, now):
    workflows = [
        shipped_workflow("sip"),
        shipped_workflow("sip_child", keep_closed_for(3), tmp_path),
        shipped_workflow("sip_discharge"),
    ]
    policy = RetentionPolicy.from_workflows(workflows, overrides={}, hash_key="k")
    assert policy.years[("sip", "closed")] == 10 and policy.years[("sip_child", "closed")] == 3
    adult = ended_case("closed", now - 4 * YEAR, workflow="sip")
    child = ended_case("closed", now - 4 * YEAR, workflow="sip_child")
    assert run(db_session, policy, now) == 1
    assert reload(db_session, AnonymisedCase, child.id) is not None
    assert reload(db_session, AnonymisedCase, adult.id) is None
    assert reload(db_session, SipCase, adult.id).questions is not None


def test_an_override_applies_to_every_final_state_of_that_name(tmp_path):
    workflows = [shipped_workflow("sip"), shipped_workflow("sip_child", keep_closed_for(3), tmp_path)]
    policy = RetentionPolicy.from_workflows(workflows, overrides={"closed": 20, "declined": 7}, hash_key="k")
    assert {key: years for key, years in policy.years.items() if key[1] in ("closed", "declined")} == {
        ("sip", "closed"): 20,
        ("sip_child", "closed"): 20,
        ("sip", "declined"): 7,
        ("sip_child", "declined"): 7,
    }
    assert policy.years[("sip", "cancelled")] == policy.years[("sip_child", "cancelled")] == 1


@pytest.mark.parametrize("state", ["follow_up", "archived"])
def test_an_override_naming_no_final_state_is_refused(state):
    with pytest.raises(ConfigError, match=f"SIPFLOW_RETENTION_YEARS_{state.upper()} names no final state"):
        RetentionPolicy.from_workflows([shipped_workflow("sip")], overrides={state: 3}, hash_key="k")


def test_the_newest_version_of_a_workflow_says_how_long(tmp_path):
    def version_2(text: str) -> str:
        text = keep_closed_for(7)(text).replace("version = 1\n", "version = 2\n", 1)
        # The second version calls its cancelled state annulled: the first version's cases keep theirs.
        return text.replace("[states.cancelled]", "[states.annulled]").replace(
            'dest = "cancelled"', 'dest = "annulled"'
        )

    newer = shipped_workflow("sip", version_2, tmp_path)
    assert newer.version == 2 and "annulled" in newer.retention_years
    for workflows in ([shipped_workflow("sip"), newer], [newer, shipped_workflow("sip")]):
        policy = RetentionPolicy.from_workflows(workflows, overrides={}, hash_key="k")
        assert policy.years[("sip", "closed")] == 7
        assert policy.years[("sip", "cancelled")] == policy.years[("sip", "annulled")] == 1


def app_config() -> dict:
    return {"ENV_NAME": "testing", "DATABASE_URL": "sqlite://", "SECRET_KEY": "test-secret-key-0123456789"}


def test_the_app_refuses_to_start_with_an_override_naming_no_final_state(monkeypatch):
    monkeypatch.setenv("SIPFLOW_RETENTION_YEARS_FOLLOW_UP", "3")
    with pytest.raises(ConfigError) as refused:
        create_app(app_config())
    message = str(refused.value)
    assert "SIPFLOW_RETENTION_YEARS_FOLLOW_UP names no final state" in message
    assert "cancelled, closed, declined, withdrawn" in message


def test_the_app_applies_an_override_from_the_environment(monkeypatch):
    monkeypatch.setenv("SIPFLOW_RETENTION_YEARS_WITHDRAWN", "4")
    policy = create_app(app_config()).extensions["sipflow.retention"]
    assert {key: years for key, years in policy.years.items() if key[1] == "withdrawn"} == {
        ("sip", "withdrawn"): 4,
        ("sip_child", "withdrawn"): 4,
        ("sip_discharge", "withdrawn"): 4,
    }
    assert policy.years[("sip", "closed")] == 10


def test_each_batch_goes_on_after_the_last_case_of_the_one_before(
    db_session, ended_case, policy, now, engine
):
    # A batch that read from the first case again went past every case anonymised before it: at a county's
    # first run after a decade, a whole year of SIPs read again for each 200.
    for _ in range(5):
        ended_case("closed")
    reads = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if "FROM sipcase" in statement and "anonymised_case" in statement and "LIMIT" in statement:
            reads.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        assert run_retention(db_session, now=now, policy=policy, batch=2) == 5
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert len(reads) == 3
    assert "sipcase.id >" not in reads[0]
    assert all("sipcase.id >" in read for read in reads[1:])


def test_batches_pass_over_a_kept_case_and_anonymise_every_due_one_after_it(
    db_session, ended_case, policy, now
):
    due = [ended_case("closed") for _ in range(2)]
    kept = ended_case("closed", now - YEAR)
    due += [ended_case("closed") for _ in range(3)]
    assert run_retention(db_session, now=now, policy=policy, batch=2) == 5
    anonymised = set(db_session.exec(select(AnonymisedCase.case_id)).all())
    assert anonymised == {case.id for case in due}
    assert kept.id not in anonymised


def _statements_of_anonymising(db_session, engine, ended_case, policy, now, count: int) -> int:
    """The statements anonymise_expired_cases sends for a batch of count ended cases and their persons."""
    cases = [ended_case("closed") for _ in range(count)]
    # One person with two of the cases: the persons' part is counted for a person of several cases too.
    cases[1].person_id = cases[0].person_id
    db_session.add(cases[1])
    db_session.commit()
    sent = []

    def seen(_conn, _cursor, statement, *_args) -> None:
        sent.append(statement)

    event.listen(engine, "before_cursor_execute", seen)
    try:
        assert anonymise_expired_cases(db_session, now=now, policy=policy) == count
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    db_session.commit()
    return len(sent)


def test_anonymising_a_batch_sends_as_many_statements_for_ten_cases_as_for_two(
    db_session, engine, ended_case, policy, now
):
    # At the first run after a decade a county's whole oldest year is due: the work is set-based per batch.
    two = _statements_of_anonymising(db_session, engine, ended_case, policy, now, 2)
    ten = _statements_of_anonymising(db_session, engine, ended_case, policy, now, 10)
    assert ten == two
