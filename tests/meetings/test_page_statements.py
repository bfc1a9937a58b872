"""The case page and the meeting page read a bounded number of statements, whatever the size of the case.

The bounds are the counts bench/README.md records (issue 9): a page that starts reading per participant,
per meeting or per log row (N+1) shows here as a count that grows with the case.
"""

from __future__ import annotations

from datetime import timedelta

import support
from meetingkit import fire, next_week_at
from sqlmodel import select
from webkit import fill, forms_of, login, text_of

from sipflow.cases import services
from sipflow.cases.models import Participant
from sipflow.cases.participants import participating_organisations
from sipflow.clock import now_utc, to_local
from sipflow.consent.services import give_consent
from sipflow.db import unit_of_work
from sipflow.meetings import services as meeting_services
from sipflow.meetings.models import Invitation, Meeting

# Statements per GET, login, audit log and the page's own reads included (bench/README.md).
# The case page's plan parts (issue 10) add three: the plan versions, the newest one with its approvals,
# and the huvudansvar hand-overs on its timeline; its reminders (issue 11) one more; the KVÅ codes part
# (issue 12) two: the case's code records, and the codes in force for its care units. The access log's
# row takes three (the head claimed with UPDATE ... RETURNING, the row, the head's new hash), not four.
# Whether a kallelse was sent (the booking button) is read from the page's own timeline, not asked again,
# and the person comes with their folkbokföringskommun's name in one statement, the consents with the
# names of the organisations they cover in another. The signed-in user comes with their unit and its
# organisation in one statement (security._load_user), on every page; the meetings with their attendance;
# the plan versions with the newest one's approvals (plans.versions.case_page_versions). The participants'
# read also says which organisations the consent in force covers (only they are listed as missing an
# approval): one statement fewer than when that was asked on its own (21). Whether the user may change the
# person's particulars is then known when their organisation is one the consent covers (20 -> 19), and each
# invitation's newest e-mail comes with the invitations (19 -> 18). The unit picker's units are read only when
# the directory's token changed (cases.queries.active_unit_rows); the token is read in their place (18).
CASE_PAGE_STATEMENTS = 18
# The meeting page reads the case's meetings once more for its label (first meeting, follow-up 1 ...); each
# invitation's newest e-mail comes with the invitations (12 -> 11).
MEETING_PAGE_STATEMENTS = 11
# The booking page's POST (the kallelse), SELECTs only (the writes are a row each on SQLite): login and the
# case (2), the participants with their organisations, units, contact persons and the consents in force
# (the invitee choices, who may book, the step's first read), the person, the case's meetings, the
# organizer, the staff invitees, the invitees' languages, the reminder rows, and the outbox's delivery
# after the commit (2): 11. Which organisations the consent in force covers (a kallelse goes to no other)
# comes with the participants' read (12 when it was asked on its own). 17 before (27 with eight invitees):
# the party's roles twice and the participants three times more, and each invitee's earlier invitation and
# contact person one by one. Which invitees' addresses may be given the case page's link (staff who see the
# SIP: security.access.addresses_seeing_case) is one statement more for all of them: 12. Whether another
# planned meeting of the SIP starts at the same time (booking.refuse_unconfirmed_same_start: a booking sent
# twice) is one more, on its index: 13.
BOOKING_POST_READS = 13
# Saving the plan (a changed need; the form's two contact rows stored for the first time): login, the case
# and its access log row (5), who may edit (1), the page's participants, plan and person (3), the save's
# plan, the organisations and units efforts may name (3), the plan's claim, its items (3), and the writes
# (3): 19. The organisations the consent in force covers (an effort or contact goes to no other) come with
# the page's participants' read (20 when the save asked them again). The fields a request leaves out were
# taken from a second read of the items before (23). A save moves the case up in Mina SIP: the case's time
# and its Mina SIP rows (two UPDATEs on SQLite, one on PostgreSQL with the rows' in a WITH): 21.
PLAN_SAVE_STATEMENTS = 21
# The plan editor of an established plan: login, the case and its access log row (5), the participants with
# their organisations, units, contact persons and the consents in force (1: the organisations' parts and
# who may edit and hand over), the plan, the person, the plan's goals, efforts and contacts for the form (3),
# the hand-overs and the efforts from decisions: 13; the organisations that can see the SIP (only they are
# offered huvudansvar) come with the participants' read (14 when asked on their own; 18 before, when the
# participants, the plan and the person were read again and the party's roles three times). While the plan
# can be established the guards add their plan rows and person (16; 23 before), taking the participants
# from the same read.
PLAN_PAGE_STATEMENTS = 13
# A step posted from the case page (give_consent): login, the case and its access log row (4), the person
# and the parties for the form's choices with the consents in force (2; the step's own first read too),
# then the rest of the step (5: tests/cases/test_statement_count counts 6 with that read). The rest of the
# page is read only when the page is shown again (a refusal, a form error).
STEP_POST_STATEMENTS = 12


def page_statements(client, engine, urls: dict[str, str]) -> dict[str, list[str]]:
    """The statements of one GET of each page (after a first GET, as a returning user sees it)."""
    counted = {}
    for name, url in urls.items():
        assert client.get(url).status_code == 200
        with support.statements(engine) as seen:
            assert client.get(url).status_code == 200
        counted[name] = seen
    return counted


def posted_statements(client, engine, page: str, action: str | None = None, **values) -> list[str]:
    """The statements of posting page's form (action: its address, the page's own by default) as filled."""
    action = action or page
    form = forms_of(text_of(client.get(page)))[action]
    with support.statements(engine) as seen:
        response = client.post(action, data=fill(form, **values))
    assert response.status_code == 303, text_of(response)
    return seen


def book_planned(db_session, registry, parties, case, *, hour: int) -> int:
    """Book a further meeting with every participant invited; its id."""
    participants = db_session.exec(
        select(Participant.id).where(Participant.case_id == case.id, Participant.active)
    )
    starts_at = next_week_at(hour)
    booking = {
        "meeting_starts_at": starts_at,
        "meeting_ends_at": starts_at + timedelta(minutes=30),
        "mode": "video",
        "invitee_ids": list(participants),
    }
    with unit_of_work(db_session):
        return meeting_services.book(
            db_session,
            registry,
            parties.region_user,
            case,
            booking,
            expected_version=case.version,
            now=now_utc(),
        )


def grow(
    db_session, registry, parties, case, make_unit, *, units: int, relatives: int, meetings: int, rounds: int
):
    """More units, närstående, follow-up rounds and meetings on the case; the last meeting's id."""
    added_units = [make_unit("municipality") for _ in range(units)]
    with unit_of_work(db_session):
        for unit in added_units:
            services.add_unit_participant(db_session, registry, case, unit.id, now=now_utc())
        for n in range(relatives):
            services.add_private_participant(
                db_session,
                registry,
                case,
                kind="narstaende",
                name=f"Närstående {n}",
                relation="vän",
                email=f"narstaende{n}@example.se",
                phone=None,
                now=now_utc(),
            )
        # The units that joined are covered by a further consent, as they must be to be invited.
        give_consent(
            db_session,
            case,
            parties.region_user,
            {
                "given_by": "person",
                "form": "written",
                "organisation_ids": [o.id for o in participating_organisations(db_session, case.id)],
            },
            now=now_utc(),
        )
    for _ in range(rounds):
        fire(db_session, registry, parties.region_user, case, "follow_up")
        fire(db_session, registry, parties.region_user, case, "revise_plan")
    return [book_planned(db_session, registry, parties, case, hour=9 + n) for n in range(meetings)][-1]


def case_pages(case, meeting_id: int) -> dict[str, str]:
    """The pages of one case a returning user opens: the case page, a meeting, the plan and its parts."""
    base = f"/cases/{case.uid}"
    return {
        "case": base,
        "meeting": f"{base}/meetings/{meeting_id}",
        "booking": f"{base}/meetings/new",
        "plan": f"{base}/plan",
        "plan for the person": f"{base}/plan/person",
        "versions": f"{base}/plan/versions",
        "version 1": f"{base}/plan/versions/1",
        "approvals": f"{base}/plan/approvals",
        "personal links": f"{base}/plan/links",
        "person": f"{base}/person",
    }


def test_the_case_pages_read_as_many_statements_for_a_big_case_as_for_a_small_one(
    client, engine, db_session, registry, parties, ready, book, make_unit
):
    assert login(client, parties.region_user.username).status_code == 302
    case = ready.case
    book()
    fire(db_session, registry, parties.region_user, case, "hold_meeting")
    fire(db_session, registry, parties.region_user, case, "establish_plan")
    meeting_id = book_planned(db_session, registry, parties, case, hour=8)
    # 5 participants, 2 meetings, 5 steps, 1 plan version; the meeting page of a planned meeting with 5
    # invited.
    small = page_statements(client, engine, case_pages(case, meeting_id))

    # 12 participants, 6 meetings, 15 steps, 6 plan versions, 12 invited; the same state, so the same next
    # steps.
    meeting_id = grow(
        db_session, registry, parties, case, make_unit, units=5, relatives=2, meetings=4, rounds=5
    )
    big = page_statements(client, engine, case_pages(case, meeting_id))

    for page in small:
        assert len(big[page]) == len(small[page]), (page, big[page])
    assert len(small["case"]) <= CASE_PAGE_STATEMENTS, small["case"]
    assert len(small["meeting"]) <= MEETING_PAGE_STATEMENTS, small["meeting"]
    assert len(small["plan"]) <= PLAN_PAGE_STATEMENTS, small["plan"]
    # Who may edit, establish and hand over is asked of the participants the page read, as the guards do.
    assert len(support.row_reads(small["plan"], "participant")) == 1, small["plan"]
    assert not [s for s in small["plan"] if s.lstrip().startswith("SELECT participant.role")], small["plan"]


def test_a_step_posted_from_the_case_page_reads_the_parties_once(client, engine, parties, create_case):
    assert login(client, parties.region_user.username).status_code == 302
    case = create_case()
    url = f"/cases/{case.uid}/transitions/give_consent"
    seen = posted_statements(client, engine, f"/cases/{case.uid}", url, **{"give_consent-form": "oral"})
    assert len(seen) <= STEP_POST_STATEMENTS, seen
    # Who may take the step is asked of the parties the form read, not of the database once more, and the
    # step takes its participants and consents in force from that read too.
    assert not [s for s in seen if s.lstrip().startswith("SELECT participant.role")], seen
    assert len(support.row_reads(seen, "participant")) == 1, seen
    # Nothing of the page beyond the parties (deadlines, consents, timeline) is read for a step that is taken.
    assert not [s for s in seen if "FROM transitionlog" in s or "FROM deadline" in s], seen


def test_the_outcome_page_asks_who_may_record_of_the_participants_it_read(
    client, engine, db_session, registry, parties, ready, book
):
    book()
    assert login(client, parties.region_user.username).status_code == 302
    url = f"/cases/{ready.case.uid}/meetings/outcome"
    with support.statements(engine) as seen:
        assert client.get(url).status_code == 200
    assert not [s for s in seen if s.lstrip().startswith("SELECT participant.role")], seen


def test_the_outcome_posted_reads_the_participants_once(client, engine, parties, ready, book, frozen_clock):
    # The page's read of the participants carries the consents in force, and the step takes it as its own;
    # the step still reads the meetings itself, after its claim (meetings.outcome.step_meetings).
    meeting = book()
    frozen_clock.set(meeting.starts_at + timedelta(hours=1))
    assert login(client, parties.region_user.username).status_code == 302
    url = f"/cases/{ready.case.uid}/meetings/outcome"
    seen = posted_statements(client, engine, url, no_change_reason="Planen fungerar")
    assert len(support.row_reads(seen, "participant")) == 1, seen


def _preparing_case(db_session, registry, parties, create_case, make_unit, make_user, *, contact_units: int):
    """A SIP ready for its kallelse with contact_units more units, each reached at its contact person."""
    case = create_case()
    units = [make_unit("municipality") for _ in range(contact_units)]
    contacts = [make_user(unit) for unit in units]
    with unit_of_work(db_session):
        for unit, contact in zip(units, contacts, strict=True):
            participant = services.add_unit_participant(db_session, registry, case, unit.id, now=now_utc())
            participant.contact_user_id = contact.id
            db_session.add(participant)
    # The consent covers every unit (they joined before it): only then may the kallelse go to them.
    fire(db_session, registry, parties.region_user, case, "give_consent")
    fire(db_session, registry, parties.region_user, case, "start_preparation")
    return case, [contact.email for contact in contacts]


def _book_through_the_page(client, engine, case) -> list[str]:
    """The statements of the booking page's POST, every participant invited (the form's default)."""
    url = f"/cases/{case.uid}/meetings/new"
    day = to_local(now_utc()).date() + timedelta(days=10)
    while day.weekday() >= 5:  # a weekday, as staff book
        day += timedelta(days=1)
    return posted_statements(
        client, engine, url, date=day.isoformat(), starts="13:00", ends="14:30", mode="video"
    )


def test_booking_reads_as_many_statements_for_eight_invitees_as_for_three(
    client, engine, db_session, registry, parties, create_case, make_unit, make_user
):
    # The kallelse's invitees are read once with the case's participants and their contact persons in one
    # statement; a meeting booked just now has no invitations to look up one by one (issue 9).
    small, _ = _preparing_case(
        db_session, registry, parties, create_case, make_unit, make_user, contact_units=0
    )
    big, contact_addresses = _preparing_case(
        db_session, registry, parties, create_case, make_unit, make_user, contact_units=5
    )
    assert login(client, parties.region_user.username).status_code == 302
    reads = {}
    for name, case in (("small", small), ("big", big)):
        seen = _book_through_the_page(client, engine, case)
        reads[name] = [s for s in seen if s.lstrip().upper().startswith("SELECT")]
    assert len(reads["big"]) == len(reads["small"]), reads["big"]
    assert len(reads["small"]) <= BOOKING_POST_READS, reads["small"]
    # Who may book and the kallelse step's own first read come from the page's read of the participants.
    assert not [s for s in reads["small"] if s.lstrip().startswith("SELECT participant.role")], reads["small"]
    invited = db_session.exec(
        select(Invitation.email).join(Meeting).where(Meeting.case_id == big.id, Invitation.active)
    ).all()
    assert len(invited) == 8
    # Each unit is invited at its contact person's address.
    assert set(contact_addresses) <= set(invited)


def test_the_plan_page_asks_the_guards_with_the_participants_and_plan_it_read(
    client, engine, db_session, registry, parties, ready, book
):
    book()
    fire(db_session, registry, parties.region_user, ready.case, "hold_meeting")
    assert login(client, parties.region_user.username).status_code == 302
    seen = page_statements(client, engine, {"plan": f"/cases/{ready.case.uid}/plan"})["plan"]
    # The establishing step's guards ask of the page's own reads: two statements more, not ten.
    assert len(seen) <= PLAN_PAGE_STATEMENTS + 2, seen
    assert len(support.row_reads(seen, "participant")) == 1, seen
    assert len(support.row_reads(seen, "plan")) == 1, seen


def test_saving_the_plan_reads_its_goals_efforts_and_contacts_once(
    client, engine, db_session, registry, parties, ready, book
):
    book()
    fire(db_session, registry, parties.region_user, ready.case, "hold_meeting")
    assert login(client, parties.region_user.username).status_code == 302
    seen = posted_statements(client, engine, f"/cases/{ready.case.uid}/plan", needs="Stöd i vardagen")
    # The fields a request leaves out keep the plan's stored values, taken from the plan the page read;
    # only the save reads the items, to compare them with what was sent.
    for table in ("plangoal", "planeffort", "plancontact"):
        assert len(support.row_reads(seen, table)) == 1, (table, seen)
    assert len(seen) <= PLAN_SAVE_STATEMENTS, seen


def test_giving_huvudansvar_asks_who_may_of_the_participants_it_read(
    client, engine, db_session, registry, parties, ready, book
):
    book()
    fire(db_session, registry, parties.region_user, ready.case, "hold_meeting")
    assert login(client, parties.region_user.username).status_code == 302
    plan = f"/cases/{ready.case.uid}/plan"
    values = {"handover-organisation_id": parties.municipality.organisation_id}
    seen = posted_statements(client, engine, plan, f"{plan}/huvudansvar", **values)
    # Who may edit and give huvudansvar: the page's participants; the service's: the organisations it reads.
    assert not [s for s in seen if s.lstrip().startswith("SELECT participant.role")], seen
