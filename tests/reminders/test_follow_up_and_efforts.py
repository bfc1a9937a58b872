"""Follow-up reminders (due in N days, due, overdue, escalated to huvudansvar's contact and unit), efforts
past their end date, and the reminders a workflow file declares."""

from __future__ import annotations

import email
import email.policy
import re
from datetime import UTC, date, datetime, time, timedelta

import support
from remkit import UNTIL_PLAN, add_effort, established, reminder_mails, reminders, sip_declaring, tick, walk
from sqlmodel import Session, select
from webkit import login

from sipflow.cases.models import Deadline, Participant, SipCase
from sipflow.clock import add_days, frozen, local_to_utc, to_local
from sipflow.consent.models import Consent, ConsentOrganisation
from sipflow.db import unit_of_work
from sipflow.people.models import Unit
from sipflow.plans.models import PlanContact, PlanEffort
from sipflow.plans.responsibility import give_huvudansvar
from sipflow.plans.services import working_plan
from sipflow.reminders.models import Reminder
from sipflow.reminders.services import wanted_reminders


def seven_in_the_morning(moment: datetime, days: int = 0) -> datetime:
    """07:00 Swedish time on the day days after moment's Swedish day: when a reminder about that day goes."""
    day = to_local(moment).date() + timedelta(days=days)
    return local_to_utc(datetime.combine(day, time(7)))


def test_an_established_plan_gets_follow_up_reminders_and_an_escalation_to_huvudansvar(
    engine, db_session, registry, parties, create_case
):
    case = established(db_session, registry, parties, create_case)
    follow_up = case.follow_up_on
    rows = [r for r in reminders(engine, status="pending") if r.topic == "follow_up"]
    by_kind = {(r.kind, r.recipient_unit_id is not None): r for r in rows}
    # The follow-up falls due at the end of its day (23:59:59); every mail about it comes at 07:00 of its day.
    assert to_local(follow_up).time() == time(23, 59, 59)
    assert by_kind[("deadline_soon", False)].due_at == seven_in_the_morning(follow_up, -7)
    assert by_kind[("deadline_due", False)].due_at == seven_in_the_morning(follow_up)
    assert by_kind[("deadline_missed", False)].due_at == seven_in_the_morning(follow_up, 1)
    escalated_user = by_kind[("deadline_escalated", False)]
    escalated_unit = by_kind[("deadline_escalated", True)]
    assert escalated_user.due_at == escalated_unit.due_at == seven_in_the_morning(follow_up, 7)
    assert {to_local(r.due_at).time() for r in rows} == {time(7)}
    assert escalated_user.recipient_user_id == parties.region_user.id
    assert escalated_unit.recipient_unit_id == parties.region.id


def test_a_new_follow_up_date_moves_the_follow_up_reminders(
    engine, db_session, registry, parties, create_case
):
    case = established(db_session, registry, parties, create_case)
    before = {r.id for r in reminders(engine, status="pending") if r.topic == "follow_up"}
    new_date = case.follow_up_on + timedelta(days=30)
    with unit_of_work(db_session):
        db_session.get(SipCase, case.id).follow_up_on = new_date
    after = [r for r in reminders(engine, status="pending") if r.topic == "follow_up"]
    assert {r.id for r in after} == before
    assert {r.due_at for r in after if r.kind == "deadline_due"} == {seven_in_the_morning(new_date)}


def test_an_overdue_follow_up_is_escalated_once_after_the_scheduler_was_down(
    app, engine, db_session, registry, parties, create_case
):
    case = established(db_session, registry, parties, create_case)
    at = add_days(case.follow_up_on, 8)
    tick(app, at)
    tick(app, at)
    (escalated,) = reminders(engine, kind="deadline_escalated", status="sent")
    assert escalated.late and escalated.recipient_user_id == parties.region_user.id
    assert reminders(engine, kind="deadline_missed", status="sent")
    assert {r.status for r in reminders(engine, kind="deadline_soon", topic="follow_up")} == {"skipped"}
    # The region unit's one staff member is the contact: their own escalation reaches them, the unit's
    # has no one else to go to (one missed, one escalated: never the same escalation twice).
    (through_unit,) = reminders(engine, kind="deadline_escalated", recipient_unit_id=parties.region.id)
    assert through_unit.status == "skipped"
    assert [m.recipient for m in reminder_mails(engine)].count(parties.region_user.email) == 2


def test_an_effort_past_its_end_date_reminds_its_organisations_contact_once(
    app, engine, db_session, registry, parties, create_case
):
    case = established(db_session, registry, parties, create_case)
    with unit_of_work(db_session):
        plan = working_plan(db_session, case)
        late = PlanEffort(
            plan_id=plan.id,
            what="Hemtjänst",
            organisation_id=parties.region.organisation_id,
            ends_on=date(2026, 11, 20),
        )
        done = PlanEffort(
            plan_id=plan.id,
            what="Remiss",
            organisation_id=parties.region.organisation_id,
            ends_on=date(2026, 11, 20),
            status="done",
        )
        db_session.add_all([late, done])
    at = datetime.fromisoformat("2026-11-23T08:00:00+00:00")
    tick(app, at)
    tick(app, at + timedelta(days=1))
    (reminder,) = reminders(engine, kind="effort_overdue")
    assert (reminder.effort_id, reminder.status) == (late.id, "sent")
    assert reminder.recipient_user_id == parties.region_user.id
    # A new end date that passes again is a new reminder.
    with Session(engine) as session, unit_of_work(session):
        session.get(PlanEffort, late.id).ends_on = date(2026, 11, 30)
    tick(app, at + timedelta(days=10))
    assert len(reminders(engine, kind="effort_overdue", status="sent")) == 2


def test_a_reminder_the_workflow_file_declares_goes_to_the_parties_it_names(
    db_session, registry, parties, create_case
):
    case = established(db_session, registry, parties, create_case)
    workflow = sip_declaring(
        "prepare_follow_up", "follow_up_on", offset_days=-14, recipients=["huvudansvarig", "participant"]
    )
    declared = [w for w in wanted_reminders(db_session, workflow, case) if w.kind == "workflow"]
    # The municipality's unit names no contact person: its row goes to the unit, which dispatch skips.
    assert {(w.fields.get("recipient_user_id"), w.fields.get("recipient_unit_id")) for w in declared} == {
        (parties.region_user.id, None),
        (None, parties.municipality.id),
    }
    assert {w.due_at for w in declared} == {seven_in_the_morning(case.follow_up_on, -14)}


def test_a_revised_plan_keeping_its_follow_up_day_gets_follow_up_reminders_again(
    engine, db_session, registry, parties, create_case
):
    # The first follow-up is held (its deadline met, its reminders cancelled); the revised plan keeps the
    # same follow-up day, so its new deadline falls at the same moment as the met one: it must be reminded.
    case = established(db_session, registry, parties, create_case)
    day = case.follow_up_on
    steps = support.SIP_HAPPY_PATH[len(UNTIL_PLAN) : support.SIP_HAPPY_PATH.index("revise_plan") + 1]
    walk(db_session, registry, parties.region_user, case, steps, first_minute=len(UNTIL_PLAN) + 1)
    with unit_of_work(db_session):
        db_session.get(SipCase, case.id).follow_up_on = day
    open_deadline = db_session.exec(
        select(Deadline).where(
            Deadline.case_id == case.id, Deadline.kind == "follow_up", Deadline.met_at.is_(None)
        )
    ).one()
    pending = [r for r in reminders(engine, status="pending") if r.topic == "follow_up"]
    assert {r.kind for r in pending} == {
        "deadline_soon",
        "deadline_due",
        "deadline_missed",
        "deadline_escalated",
    }
    assert {r.deadline_id for r in pending} == {open_deadline.id}
    assert {r.due_at for r in pending if r.kind == "deadline_due"} == {seven_in_the_morning(day)}


def test_once_huvudansvar_has_passed_the_deadlines_go_to_the_new_holder_not_to_who_started_the_sip(
    engine, db_session, registry, parties, create_case
):
    """Växjö kommun took over huvudansvar and named no contact person: its unit hears of the follow-up,
    not the region's user who started the SIP years ago."""
    case = established(db_session, registry, parties, create_case)
    participants = db_session.exec(select(Participant).where(Participant.case_id == case.id)).all()
    assert all(p.contact_user_id is None for p in participants if p.unit_id == parties.municipality.id)
    with unit_of_work(db_session):
        give_huvudansvar(
            db_session,
            case,
            parties.region_user,
            organisation_id=parties.municipality.organisation_id,
            reason="Kommunen leder planeringen",
            expected_version=case.version,
            now=support.FIXED_NOW + timedelta(hours=2),
        )
    rows = [r for r in reminders(engine, status="pending") if r.topic == "follow_up"]
    for kind in ("deadline_soon", "deadline_missed"):
        (row,) = [r for r in rows if r.kind == kind]
        assert (row.recipient_user_id, row.recipient_unit_id) == (None, parties.municipality.id), kind


def test_an_overdue_effort_of_an_organisation_that_named_no_one_reminds_its_unit(
    app, engine, db_session, registry, parties, create_case
):
    """Växjö kommun named no contact person on the SIP and none in the plan: the staff of its unit hear of
    its effort past its end date, rather than nobody (the reminder was undeliverable)."""
    case = established(db_session, registry, parties, create_case)
    add_effort(db_session, case, parties.municipality.organisation_id, date(2026, 11, 20))
    tick(app, datetime.fromisoformat("2026-11-23T08:00:00+00:00"))
    (reminder,) = reminders(engine, kind="effort_overdue")
    assert (reminder.recipient_unit_id, reminder.status) == (parties.municipality.id, "sent")
    assert parties.municipality_user.email in [m.recipient for m in reminder_mails(engine)]


def test_an_overdue_effort_of_an_organisation_the_consent_no_longer_covers_is_not_mailed(
    app, engine, db_session, registry, parties, create_case
):
    """The consent naming Växjö kommun ran out and the further one names the region only: the kommun cannot
    see the SIP, so it is not mailed about its effort (the plan still shows it late to the region)."""
    case = established(db_session, registry, parties, create_case)
    with unit_of_work(db_session):
        plan = working_plan(db_session, case)
        db_session.add(
            PlanEffort(
                plan_id=plan.id,
                what="Boendestöd",
                organisation_id=parties.municipality.organisation_id,
                ends_on=date(2026, 11, 20),
            )
        )
        for consent in db_session.exec(select(Consent).where(Consent.case_id == case.id)).all():
            consent.valid_until = date(2026, 11, 21)
        further = Consent(
            case_id=case.id,
            decision="given",
            given_by="person",
            form="oral",
            recorded_at=support.FIXED_NOW,
            recorded_by_user_id=parties.region_user.id,
        )
        db_session.add(further)
        db_session.flush()
        db_session.add(
            ConsentOrganisation(consent_id=further.id, organisation_id=parties.region.organisation_id)
        )
    tick(app, datetime.fromisoformat("2026-11-23T08:00:00+00:00"))
    assert reminders(engine, kind="effort_overdue") == []


def test_an_effort_reminder_to_the_plans_contact_address_links_no_case_page(
    smtp_app, smtp_server, engine, db_session, registry, parties, create_case
):
    """The plan names the region's contact by address only (someone without a sipflow login): their reminder
    must not send them to the case page, which would only ask for a login they do not have."""
    case = established(db_session, registry, parties, create_case)
    with unit_of_work(db_session):
        plan = working_plan(db_session, case)
        for participant in db_session.exec(select(Participant).where(Participant.case_id == case.id)).all():
            participant.contact_user_id = None
            db_session.add(participant)
        db_session.add(
            PlanContact(
                plan_id=plan.id,
                organisation_id=parties.region.organisation_id,
                name="Kontaktperson",
                email="kontakt@extern.example.se",
            )
        )
        db_session.add(
            PlanEffort(
                plan_id=plan.id,
                what="Hemtjänst",
                organisation_id=parties.region.organisation_id,
                ends_on=date(2026, 11, 20),
            )
        )
    smtp_server.clear()
    tick(smtp_app, datetime.fromisoformat("2026-11-23T08:00:00+00:00"))
    (mail,) = [m for m in smtp_server.received if m.rcpt_tos == ("kontakt@extern.example.se",)]
    assert case.reference in mail.message["Subject"]
    assert f"/cases/{case.uid}" not in mail.message.get_content()


def test_a_reminder_about_a_day_goes_at_seven_that_morning_or_at_its_moment_when_earlier(app, monkeypatch):
    from sipflow.reminders.services import on_the_morning

    with app.app_context():
        # A kallelse deadline counted from a request made at 14:37: its "today" mail at 07:00 that day.
        afternoon = local_to_utc(datetime(2027, 3, 8, 14, 37))
        assert on_the_morning(afternoon) == local_to_utc(datetime(2027, 3, 8, 7, 0))
        # Summer time: still 07:00 Swedish time (05:00 UTC).
        summer = local_to_utc(datetime(2027, 7, 8, 23, 59))
        assert on_the_morning(summer).hour == 5
        # A moment before the morning (a request at 06:15): the mail goes at the moment, never after it.
        early = local_to_utc(datetime(2027, 3, 8, 6, 15))
        assert on_the_morning(early) == early
        monkeypatch.setitem(app.config, "REMINDER_MORNING_HOUR", 8)  # the setting moves it
        assert on_the_morning(afternoon) == local_to_utc(datetime(2027, 3, 8, 8, 0))


def test_the_case_page_names_what_each_reminder_is_about_and_who_hears_of_it(
    client, db_session, registry, parties, create_case
):
    # The escalation goes to huvudansvar's contact and to the staff of their unit: two rows of one kind and
    # day, told apart by their recipient, each naming the deadline as the workflow file labels it.
    case = established(db_session, registry, parties, create_case)
    unit = db_session.get(Unit, parties.region.id)
    login(client, parties.region_user.username)
    page = client.get(f"/cases/{case.uid}").get_data(as_text=True)
    section = page[page.index('id="h-reminders"') :]
    section = section[: section.index("</section>")]
    assert f"Mottagare: {parties.region_user.display_name}." in section
    # The unit with its organisation: unit names repeat across organisations.
    organisation = "Region Kronoberg"
    assert f"Mottagare: Personalen på {organisation}, {unit.name}." in section
    items = [item.split() for item in section.split("<li>")[1:]]
    assert items and all("(Uppföljning)," in words for words in items)
    assert all("07:00." in words for words in items)
    # In English too the recipient follows its label ("to The staff of ..." read as one sentence), and the
    # status its own.
    english = client.get(f"/cases/{case.uid}?lang=en").get_data(as_text=True)
    english = english[english.index('id="h-reminders"') :]
    english = " ".join(english[: english.index("</section>")].split())
    assert f"Recipient: The staff of {organisation}, {unit.name}." in english
    assert "to The staff" not in english
    assert re.search(r'Status: <span class="tag[^"]*">Upcoming</span>', english)


def test_reminders_reconcile_moves_what_an_older_release_wrote_to_the_morning(
    app, engine, db_session, registry, parties, create_case
):
    # Rows written before the morning rule: the follow-up's reminders at 23:59 of their day. The command
    # moves them to 07:00 (the same rows, nothing sent twice) and a second run changes nothing.
    from sipflow.reminders.cli import reminders_group

    established(db_session, registry, parties, create_case)
    with Session(engine) as session:
        written = session.exec(select(Reminder).where(Reminder.topic == "follow_up")).all()
        for row in written:
            row.due_at = row.due_at.replace(hour=22, minute=59)
            row.dedupe_key = row.dedupe_key.replace("T0700", "T2359")
            session.add(row)
        session.commit()
        ids = sorted(row.id for row in written)
    assert {to_local(r.due_at).time() for r in reminders(engine, status="pending")} == {time(23, 59)}
    runner = app.test_cli_runner()
    result = runner.invoke(reminders_group, ["reconcile"])
    assert result.exit_code == 0 and result.output.strip() == "reconciled the reminders of 1 case"
    pending = [r for r in reminders(engine, status="pending") if r.topic == "follow_up"]
    assert sorted(r.id for r in pending) == ids
    assert {to_local(r.due_at).time() for r in pending} == {time(7)}
    assert runner.invoke(reminders_group, ["reconcile"]).exit_code == 0
    again = reminders(engine, status="pending")
    assert [(r.id, r.due_at) for r in again if r.topic == "follow_up"] == [(r.id, r.due_at) for r in pending]


def test_a_reminder_an_older_release_sent_at_its_own_moment_is_not_sent_again_after_the_upgrade(
    app, engine, db_session, registry, parties, create_case
):
    # The older release told the follow-up's "soon" and "passed" at 23:59 of their day; this one tells them
    # at 07:00. The upgrade's reconcile (and any step of the case after it) finds them sent at the old
    # moment: the same reminder of the same deadline's moment, told already, not a new one to send late.
    from sipflow.reminders.cli import reminders_group

    established(db_session, registry, parties, create_case)
    with Session(engine) as session:
        for row in session.exec(select(Reminder).where(Reminder.topic == "follow_up")).all():
            row.due_at = row.due_at.replace(hour=22, minute=59)
            row.dedupe_key = row.dedupe_key.replace("T0700", "T2359")
            session.add(row)
        session.commit()
    told = [
        row
        for kind in ("deadline_soon", "deadline_missed")
        for row in reminders(engine, kind=kind, topic="follow_up", recipient_user_id=parties.region_user.id)
    ]
    assert len(told) == 2
    for row in told:  # the older release's scheduler, at each one's moment
        tick(app, row.due_at.replace(tzinfo=UTC) + timedelta(minutes=1))
    assert [r.status for row in told for r in reminders(engine, id=row.id)] == ["sent"] * 2
    upgraded = told[-1].due_at.replace(tzinfo=UTC) + timedelta(hours=1)
    with frozen(upgraded):  # the upgrade that evening, as the README says
        assert app.test_cli_runner().invoke(reminders_group, ["reconcile"]).exit_code == 0
    tick(app, upgraded + timedelta(hours=8))  # the new release's scheduler, the next morning
    subjects = [m.subject for m in reminder_mails(engine) if m.recipient == parties.region_user.email]
    assert len(subjects) == 2 and len(set(subjects)) == 2, subjects


def test_reminders_reconcile_writes_the_reminders_of_a_running_case_an_older_release_gave_none(
    app, engine, db_session, registry, parties, create_case
):
    # A case running since a release without reminders (or without a kind of them) has none still to send:
    # after the upgrade the command gives it what it should have, and a second run changes nothing.
    from sipflow.reminders.cli import reminders_group

    established(db_session, registry, parties, create_case)
    wanted = sorted((r.dedupe_key, r.due_at) for r in reminders(engine, status="pending"))
    assert wanted
    with Session(engine) as session:
        for row in session.exec(select(Reminder).where(Reminder.status == "pending")).all():
            session.delete(row)
        session.commit()
    runner = app.test_cli_runner()
    result = runner.invoke(reminders_group, ["reconcile"])
    assert result.exit_code == 0 and result.output.strip() == "reconciled the reminders of 1 case"
    assert sorted((r.dedupe_key, r.due_at) for r in reminders(engine, status="pending")) == wanted
    assert runner.invoke(reminders_group, ["reconcile"]).exit_code == 0
    assert sorted((r.dedupe_key, r.due_at) for r in reminders(engine, status="pending")) == wanted


def _plain_body(row) -> str:
    message = email.message_from_string(row.message, policy=email.policy.default)
    return " ".join(message.get_body(preferencelist=("plain",)).get_content().split())


def test_an_overdue_effort_of_an_organisation_that_only_reads_the_plan_says_whom_to_tell(
    app, engine, db_session, registry, parties, create_case
):
    """The school's kurator (here: Växjö kommun's staff) is reminded of her organisation's effort past its
    end date, but only the initiating organisation and the one with huvudansvar (the region) write the plan:
    the mail said "Update its status in the plan", which she cannot do. It names who writes the plan instead;
    the region's own effort's mail still asks it to update the plan."""
    case = established(db_session, registry, parties, create_case)
    reader = add_effort(db_session, case, parties.municipality.organisation_id, date(2026, 11, 20))
    writer = add_effort(db_session, case, parties.region.organisation_id, date(2026, 11, 20), what="Remiss")
    tick(app, datetime.fromisoformat("2026-11-23T08:00:00+00:00"))
    bodies = {
        r.effort_id: [_plain_body(m) for m in reminder_mails(engine) if m.reminder_id == r.id]
        for r in reminders(engine, kind="effort_overdue")
    }
    (to_reader,) = bodies[reader.id]
    assert "Uppdatera dess status i planen" not in to_reader
    assert "Region Kronoberg" in to_reader and "skriver planen" in to_reader
    (to_writer,) = bodies[writer.id]
    assert "Uppdatera dess status i planen" in to_writer


def test_an_overdue_effort_whose_plan_contact_moved_to_another_organisation_reaches_the_unit(
    app, engine, db_session, registry, parties, create_case, make_user, now
):
    """The plan names the region's kurator, by her address, as its contact; an administrator moved her to a
    unit of another organisation (she left for another school), which released her as contact person on the
    SIP. The reminder of the region's effort past its end date went to her address, telling her of an effort
    "your organisation" is responsible for in a SIP she may no longer see, while her former colleagues
    heard nothing: it reaches the staff of the region's unit on the SIP instead."""
    case = established(db_session, registry, parties, create_case)
    colleague = make_user(parties.region)
    moved = parties.region_user
    with unit_of_work(db_session):
        plan = working_plan(db_session, case)
        for contact in db_session.exec(select(PlanContact).where(PlanContact.plan_id == plan.id)).all():
            db_session.delete(contact)
        db_session.add(
            PlanContact(
                plan_id=plan.id,
                organisation_id=parties.region.organisation_id,
                name=moved.display_name,
                email=moved.email.upper(),
            )
        )
    admin = make_user(None, roles="admin")
    support.move_user(db_session, registry, admin, moved, parties.municipality.id, now)
    add_effort(db_session, case, parties.region.organisation_id, date(2026, 11, 20))

    tick(app, datetime.fromisoformat("2026-11-23T08:00:00+00:00"))

    (reminder,) = reminders(engine, kind="effort_overdue")
    assert (reminder.status, reminder.recipient_address, reminder.recipient_unit_id) == (
        "sent",
        None,
        parties.region.id,
    )
    mailed = [m.recipient for m in reminder_mails(engine) if m.reminder_id == reminder.id]
    assert colleague.email in mailed and moved.email not in mailed
