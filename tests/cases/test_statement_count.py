"""How many statements one step sends to the database: a regression in the transition path shows here.

The ceilings are the counts bench/transitions.py records (bench/README.md); the form's data is prepared
before counting, as the benchmark keeps it out of its timed loop.
"""

import re
from datetime import timedelta

import pytest
import support
from sqlalchemy import event
from sqlmodel import select

from sipflow.cases import queries, services
from sipflow.cases.models import CaseVisibility, Deadline, Participant, SipCase
from sipflow.cases.scripted import scripted_input
from sipflow.db import unit_of_work
from sipflow.security import audit

# Statements (SELECT, INSERT, UPDATE; not BEGIN/COMMIT) one step of the sip workflow may send at most,
# the actor and the case already in the session: 58 before issue 10 (77 before issue 9, 62 with Mina SIP's
# case_visibility). Each ceiling counts one UPDATE of case_visibility (Mina SIP's candidates take the case's
# new time); open deadlines settle in one UPDATE per outcome; a form that only sets columns of the case
# (questions, follow_up_on, closed_reason) has them written by the claim. bench/transitions.py counts the
# whole lifecycle, with the start and each request's loads of actor and case. Issue 10: recording a
# meeting's outcome writes its decisions and carries them into the working plan as efforts (six statements
# more for hold_meeting, five for follow_up); establishing and revising freeze a plan version
# (plans/versions.py): the plan's content (plan, goals, efforts, contacts, participants, organisations,
# units, person; the plan is started on first use), the next number and the version's INSERT: 11 statements
# more (12 at the first freezing). Issue 11 added the reminders' reconciliation before each commit (the
# case's participants, open deadlines, planned meetings and reminder rows read once; the reminders a step
# adds, moves or cancels written): 2 to 9 statements more per step. Coding the held meeting (issue 12: its
# units, the codes in force, the person, the records) adds four to hold_meeting and follow_up.
# Branch h17 (issue 9's transition path again, 179 -> 138 statements per lifecycle in bench/transitions.py):
# the reconciliation reads only the reminder families a step's writes can move (none for give_consent and
# start_preparation) with the participants the step read, and writes its new rows in one INSERT; the plan
# version reuses the guards' plan, goals and efforts and the step's participants; efforts from decisions
# and code records go in one INSERT each; establish_plan's follow-up day is written by the claim.
# Branch h25: give_consent's guard asks the consent it just recorded, not the database (6); follow_up tells
# its unbooked meeting's kind from the meetings its input read (17); establish_plan and revise_plan read the
# person and the last version number with the plan, before the claim (the guards and the freeze take them
# from there: 17 and 16, and no more "+1" when the identity map has let the person go); a held meeting's
# coding reads the person's particulars with its units' facts, whether or not the session holds the person
# (15).
# Branch h24 (the reconciliation's reads): a participant changed after the step read them (the plan form
# giving huvudansvar) is one of the step's own objects, so they are not read again: establish_plan -1. When
# no reminder of the families a step can move is wanted any more (its deadline met and no other open, its
# meeting's invitations none, the case ended), the pending ones are cancelled by one UPDATE, unread:
# send_kallelse, follow_up and close -1 each. A meeting booked in the step has only the invitations it
# wrote, so they are not read back: send_kallelse -1.
# Branch h26: the meetings a step read (the booking's, the outcome's: every meeting of the case) are the
# reconciliation's planned meetings unless a meeting not among them is written (safe since writes to a
# case's meetings outside a step lock the case's row, cases.services.lock_case): send_kallelse -1 (its
# booking reads the case's meetings instead of its held ones' ids), hold_meeting -1. The met deadlines'
# UPDATE matches every open deadline of the case (the others keep their value) and returns them: what is
# still open is not read again for the reminders (send_kallelse and follow_up -1).
# The consents in force come with the step's first read, the participants' (cases.services
# step_consents_in_force): every step with a consent guard -1 (start_preparation, send_kallelse,
# hold_meeting, establish_plan, follow_up, revise_plan).
# On PostgreSQL the claim carries the UPDATE of the case's Mina SIP rows in a WITH (one statement fewer per
# step than these ceilings, which are SQLite's).
CEILINGS = {
    "give_consent": 6,
    # + the preparation's own goals into the plan draft (branch h27: the plan started unless there is one,
    # one INSERT ... WHERE NOT EXISTS, then its goals' INSERT; 8 -> 7).
    "start_preparation": 6,
    "send_kallelse": 8,
    # Branch h27: the decisions just recorded go into the plan by INSERT ... SELECT from the case's plan,
    # not read first (-1 here and for follow_up); branch h26: the meetings read once per step (-1).
    # The coding's units, person and catalogue in one UNION ALL (-1 here and for follow_up).
    # + a meeting held at another time than booked (the scripted outcome is recorded before the booked
    # time, moved) takes the held time and every invitee's calendar entry is moved there: its invitations
    # read once, to update and mail them (none here: the kallelse went through another system), 11 -> 12.
    # + the plan's row version raised when the decisions become efforts (an editor page read before must
    # conflict, not delete them on saving), 12 -> 13.
    # + the organisations the consent in force covers, asked once for the decisions' owners (a decision
    # goes to no organisation the consent leaves out), 13 -> 14; carried by the step's first read, the
    # participants', since (security.access.consent_covers_participant): 14 -> 13.
    # + the booked meeting claimed as the step read it (meetings.services._claim, a compare-and-set of its
    # SEQUENCE and planned status, its own UPDATE before the held columns'): an outcome no longer writes
    # over a meeting a colleague cancelled or moved meanwhile, 13 -> 14; the held columns written by that
    # claim's UPDATE, not one of their own after it (services.move_to_held_time), 14 -> 13.
    "hold_meeting": 13,
    # + the plan: found before the claim (its follow-up day goes into the claim's UPDATE) and held by its
    # compare-and-set, its goals and efforts read once for the guards and the version, the person's age
    # (branch h27: the goals, efforts, contacts and the names the version shows in one UNION ALL: 16 -> 13).
    # + the organisations the consent in force covers: only they are the version's parties (12 -> 13);
    # from the step's first read since, as for hold_meeting (13 -> 12).
    # The reconciliation reads the case's reminder rows with its open deadlines, one UNION ALL (12 -> 11).
    "establish_plan": 11,
    # Branches h26 (open deadlines not read again) and h27 (decisions into the plan unread): 16 -> 14.
    # + the plan's row version raised with the decisions' efforts, as for hold_meeting: 12 -> 13.
    # + the organisations the consent covers, for the decisions' owners, as for hold_meeting: 13 -> 14,
    # and from the step's first read since: 14 -> 13.
    "follow_up": 13,
    # As establish_plan, + the new follow-up deadline's reminders (one INSERT: a deadline's reminders name
    # it, so a revised plan keeping its follow-up day is reminded again). Branch h27: 16 -> 13, as above.
    # + the organisations the consent in force covers, as for establish_plan (12 -> 13, then 13 -> 12).
    # The reminder rows with the open deadlines, as for establish_plan (12 -> 11).
    "revise_plan": 11,
    # + cancelling those reminders (one UPDATE, unread).
    "close": 7,
}


# Starting a SIP for a registered person with two other units: one INSERT each of the case, its participants
# (all of them in one), Mina SIP's candidates, the log row and the kallelse deadline, and at most the reads
# of the three units' organisations while the per-process cache is cold (bench/transitions.py: 9 statements
# for the start with the person and the actor, 13 before).
# + the access-log row of the start (who started the SIP is the person's to know): its head's UPDATE, the
# INSERT and the head's new hash, 8 -> 11. On PostgreSQL the participants, Mina SIP rows, log row and the
# check for deactivated units are one WITH, and the access log's INSERT rides in the head's new hash: 5
# (tests/cases/test_start_round_trips.py).
START_CEILING = 11


def test_starting_a_case_writes_each_table_once(db_session, registry, parties, make_person, engine, now):
    person = make_person()
    units = [parties.municipality.id, parties.school.id]
    # The access log has begun, as on every database but a new one (its first row creates the head).
    with unit_of_work(db_session):
        audit.record_access(
            db_session,
            user=parties.region_user,
            action=audit.PERSON_LOOKUP,
            purpose="test",
            person=person,
            now=now,
        )
    with support.statements(engine) as seen:
        case = support.new_case(
            db_session, registry, parties.region_user, workflow="sip", person=person, unit_ids=units, now=now
        )
    # Every INSERT, on its own or in a WITH (PostgreSQL sends the start's rows in one statement).
    written = sorted(table for s in seen for table in re.findall(r'INSERT INTO "?(\w+)', s))
    assert written == [
        "access_log",
        "case_visibility",
        "deadline",
        "participant",
        "sipcase",
        "transitionlog",
    ], written
    assert len(seen) <= START_CEILING, seen
    # The one INSERT wrote every participant, and every organisation taking part sees the case in Mina SIP.
    rows = db_session.exec(select(Participant).where(Participant.case_id == case.id)).all()
    region, municipality, school = (
        u.organisation_id for u in (parties.region, parties.municipality, parties.school)
    )
    assert sorted((p.kind, p.role, p.organisation_id or 0) for p in rows) == sorted(
        [
            ("organisation", "initiator", region),
            ("person", "participant", 0),
            ("organisation", "participant", municipality),
            ("organisation", "participant", school),
        ]
    )
    visible = db_session.exec(select(CaseVisibility.organisation_id).where(CaseVisibility.case_id == case.id))
    assert set(visible.all()) == {region, municipality, school}


def _steps(db_session, registry, parties, create_case, engine, now):
    """Fire the sip happy path; yield (trigger, statements of that step)."""
    case = create_case("sip")
    yield from support.fired_with_statements(
        db_session, registry, parties.region_user, case, engine, start=now
    )


def test_each_step_stays_within_its_ceiling(db_session, registry, parties, create_case, engine, now):
    steps = _steps(db_session, registry, parties, create_case, engine, now)
    counts = {trigger: len(seen) for trigger, seen in steps}
    over = {t: (n, CEILINGS[t]) for t, n in counts.items() if n > CEILINGS[t]}
    assert not over, f"steps over their statement ceiling (count, ceiling): {over}"


# establish_plan too: its input reads the plan before the claim, which writes the plan's follow-up day.
@pytest.mark.parametrize(
    "trigger",
    ["give_consent", "start_preparation", "send_kallelse", "establish_plan", "revise_plan", "close"],
)
def test_a_step_updates_the_case_row_once(trigger, db_session, registry, parties, create_case, engine, now):
    for fired, seen in _steps(db_session, registry, parties, create_case, engine, now):
        if fired == trigger:
            updates = [s for s in seen if support.updates_case_row(s)]
            assert len(updates) == 1, updates
            return


def test_the_mina_sip_rows_move_with_the_claim(db_session, registry, parties, create_case, engine, now):
    for trigger, seen in _steps(db_session, registry, parties, create_case, engine, now):
        claims = [s for s in seen if support.updates_case_row(s)]
        moves = [s for s in seen if s.lstrip().upper().startswith("UPDATE CASE_VISIBILITY")]
        if engine.dialect.name == "postgresql":
            # One round trip: the claim carries the UPDATE of the case's Mina SIP rows in its WITH.
            assert moves == [] and len(claims) == 1, (trigger, seen)
            assert "UPDATE case_visibility SET" in claims[0], (trigger, claims)
        else:
            assert len(moves) == 1 and seen.index(moves[0]) == seen.index(claims[0]) + 1, (trigger, seen)


@pytest.mark.parametrize("trigger", ["send_kallelse", "follow_up", "close"])
def test_a_step_settles_its_deadlines_in_one_update_the_session_sees(
    trigger, db_session, registry, parties, create_case, engine, now
):
    held: list = []
    postgresql = engine.dialect.name == "postgresql"
    for fired, seen in _steps(db_session, registry, parties, create_case, engine, now):
        if fired == trigger:
            # The settling UPDATE returns the deadlines still open: the reconciliation does not read them.
            assert not support.deadline_reads(seen)
            deadline_statements = [
                s
                for s in seen
                if "deadline" in s.lower()
                and not s.lstrip().upper().startswith("INSERT")
                and "reminder" not in s.lower()
            ]
            assert len(deadline_statements) == 1, deadline_statements
            # On PostgreSQL it carries the step's log row as a WITH (test_step_log_carried.py).
            statement = " ".join(deadline_statements[0].split())
            carried = "WITH logged_step AS (INSERT INTO transitionlog "
            assert statement.startswith(carried) == postgresql, statement
            assert ("UPDATE deadline SET " in statement) and "INSERT INTO deadline" not in statement
            # The deadlines the session held before the step show how it settled them.
            assert held and all(d.met_at is not None or d.cancelled_at is not None for d in held)
            return
        held = list(
            db_session.exec(
                select(Deadline).where(Deadline.met_at.is_(None), Deadline.cancelled_at.is_(None))
            ).all()
        )


@pytest.mark.parametrize("trigger", ["establish_plan", "revise_plan"])
def test_a_plan_step_reads_the_person_once_with_the_plan_and_the_last_version_number(
    trigger, db_session, registry, parties, create_case, engine, now
):
    for fired, seen in _steps(db_session, registry, parties, create_case, engine, now):
        if fired == trigger:
            person_reads = [s for s in seen if "FROM person" in s]
            assert len(person_reads) == 1, person_reads
            assert "max(planversion.number)" in person_reads[0]
            # ... and the plan, in the same statement.
            assert not any(s.lstrip().upper().startswith('SELECT "PLAN".') for s in seen)
            assert not any(s.lstrip().upper().startswith("SELECT MAX(PLANVERSION") for s in seen)
            return


@pytest.mark.parametrize("read_on", [0, -1], ids=["the step's day", "the day before"])
def test_a_step_uses_its_callers_read_of_the_participants_of_its_day(
    read_on, db_session, registry, parties, create_case, engine, now
):
    # The case page's step form reads the parties with the consents in force (queries.case_parties with
    # step_now): the step takes them from there, unless they were read for another day (across midnight).
    case = create_case("sip")
    parties_read = queries.case_parties(db_session, registry, case, step_now=now + timedelta(days=read_on))
    reads = parties_read.step_reads
    data = scripted_input(db_session, case, "consent", now)
    with support.statements(engine) as seen, unit_of_work(db_session):
        services.fire_transition(
            db_session,
            registry,
            parties.region_user,
            case,
            "give_consent",
            expected_version=case.version,
            now=now,
            data=data,
            reads=reads,
        )
    assert case.state == "consent_given"
    assert len(support.row_reads(seen, "participant")) == (0 if read_on == 0 else 1), seen


@pytest.mark.parametrize("trigger", ["start_preparation", "establish_plan", "revise_plan", "close"])
def test_no_flush_works_through_the_case_after_its_claim_wrote_the_forms_columns(
    trigger, db_session, registry, parties, create_case, engine, now
):
    # The claim's UPDATE writes the columns the form set (questions, follow_up_on, closed_reason); a flush
    # that still took the case as changed would run a unit of work that writes nothing.
    flushed_with_case: list[str] = []

    def before_flush(session, _context, _instances):
        if case in session.dirty:
            flushed_with_case.append(fired)

    case = create_case("sip")
    event.listen(db_session, "before_flush", before_flush)
    try:
        for step, fired in enumerate(support.SIP_HAPPY_PATH, start=1):
            flushed_with_case.clear()
            support.fire(
                db_session, registry, parties.region_user, case, fired, now=now + timedelta(minutes=step)
            )
            if fired == trigger:
                break
    finally:
        event.remove(db_session, "before_flush", before_flush)
    assert flushed_with_case == [], trigger
    # ... and what the form set is in the database.
    stored = db_session.connection().execute(
        select(SipCase.questions, SipCase.follow_up_on, SipCase.closed_reason).where(SipCase.id == case.id)
    )
    assert tuple(stored.one()) == (case.questions, case.follow_up_on, case.closed_reason)
