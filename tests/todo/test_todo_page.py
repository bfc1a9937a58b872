"""Att göra: the staff member's first page, what needs doing now, most urgent first, bounded, by case uid."""

from __future__ import annotations

import base64
import re
from datetime import date, timedelta

import pytest
import support
from sqlmodel import select
from webkit import FreshContextClient, login, spoken, text_of

from sipflow.cases.models import Deadline, Participant
from sipflow.clock import to_local
from sipflow.meetings.models import Invitation, Meeting
from sipflow.plans.models import Plan, PlanEffort
from sipflow.todo.queries import HORIZON, OVERVIEW_ROWS, PER_PAGE, Cursor

pytestmark = pytest.mark.usefixtures("frozen_clock")


@pytest.fixture
def as_region(client, parties):
    assert login(client, parties.region_user.username).status_code == 302
    return client


@pytest.fixture
def quiet(db_session):
    """Meet the deadlines the start of a case set, so each test sees only its own."""

    def clear(now):
        for deadline in db_session.exec(select(Deadline).where(Deadline.met_at.is_(None))).all():
            deadline.met_at = now
            db_session.add(deadline)
        db_session.commit()

    return clear


def section_html(page: str, name: str) -> str:
    found = re.search(rf'<section class="card todo-section" id="todo-{name}".*?</section>', page, re.S)
    assert found, name
    return found.group(0)


def order_of(html: str, cases) -> list[str]:
    """The references of cases in the order html shows them."""
    positions = {case.reference: html.find(case.reference) for case in cases if case.reference in html}
    return sorted(positions, key=positions.get)


def test_staff_land_on_att_gora_after_login_and_mina_sip_stays_in_the_menu(client, parties):
    response = login(client, parties.region_user.username)
    assert response.status_code == 302 and response.headers["Location"] == "/"
    page = text_of(client.get("/"))
    assert "<h1>Att göra</h1>" in page
    assert 'href="/cases"' in page  # Mina SIP in the menu
    assert "<h1>Mina SIP</h1>" in text_of(client.get("/cases"))


def test_deadlines_missed_and_coming_most_urgent_first_each_linking_to_its_case(
    as_region, db_session, create_case, quiet, now
):
    missed, soon, later, met, cancelled = (create_case() for _ in range(5))
    quiet(now)
    db_session.add_all(
        [
            Deadline(case_id=soon.id, kind="kallelse", due_at=now + timedelta(days=2)),
            Deadline(case_id=missed.id, kind="kallelse", due_at=now - timedelta(days=3)),
            Deadline(case_id=later.id, kind="kallelse", due_at=now + HORIZON + timedelta(days=1)),
            Deadline(case_id=met.id, kind="kallelse", due_at=now - timedelta(days=1), met_at=now),
            Deadline(case_id=cancelled.id, kind="kallelse", due_at=now, cancelled_at=now),
        ]
    )
    db_session.commit()
    html = section_html(text_of(as_region.get("/")), "deadlines")
    assert order_of(html, [missed, soon, later, met, cancelled]) == [missed.reference, soon.reference]
    assert f'href="/cases/{missed.uid}"' in html and f'href="/cases/{soon.uid}"' in html
    assert "Kallelse" in html and "(försenad)" in html
    assert html.count('<strong class="overdue">') == 1  # only the missed one


def test_another_organisations_cases_and_cases_it_may_not_see_stay_out(
    app, db_session, parties, create_case, quiet, now
):
    case = create_case()
    quiet(now)
    db_session.add(Deadline(case_id=case.id, kind="kallelse", due_at=now - timedelta(days=1)))
    db_session.commit()
    # The municipality takes part but no consent is in force yet; the outsider has nothing to do with it.
    for user in (parties.municipality_user, parties.outsider_user):
        client = FreshContextClient(app, app.response_class, use_cookies=True)
        assert login(client, user.username).status_code == 302
        assert case.reference not in text_of(client.get("/")), user.username


def test_follow_ups_due_are_their_own_section(
    as_region, db_session, registry, parties, create_case, quiet, now
):
    case = create_case()
    for trigger in ("give_consent", "start_preparation", "send_kallelse", "hold_meeting"):
        support.fire(db_session, registry, parties.region_user, case, trigger, now=now)
    quiet(now)
    follow_up = now + timedelta(days=5)
    case.follow_up_on = follow_up
    db_session.add(case)
    db_session.add(Deadline(case_id=case.id, kind="follow_up", due_at=follow_up))
    db_session.commit()
    page = text_of(as_region.get("/"))
    assert case.reference in section_html(page, "follow_ups")
    assert to_local(follow_up).date().isoformat() in section_html(page, "follow_ups")
    assert case.reference not in section_html(page, "deadlines")


def _meeting(db_session, case, booker, *, starts_at, answers):
    meeting = Meeting(
        case_id=case.id,
        mode="on_site",
        starts_at=starts_at,
        ends_at=starts_at + timedelta(hours=1),
        booked_by_user_id=booker.id,
    )
    db_session.add(meeting)
    db_session.flush()
    participants = db_session.exec(select(Participant).where(Participant.case_id == case.id)).all()
    for participant, partstat in zip(participants, answers, strict=False):
        db_session.add(
            Invitation(
                meeting_id=meeting.id,
                participant_id=participant.id,
                email="x@example.se",
                partstat=partstat,
                invited_at=starts_at - timedelta(days=7),
            )
        )
    db_session.commit()
    return meeting


def test_unanswered_invitations_of_meetings_i_booked_soonest_first(
    as_region, db_session, parties, create_case, quiet, now
):
    later, sooner, answered, begun, someone_elses = (create_case() for _ in range(5))
    quiet(now)
    me = parties.region_user
    _meeting(
        db_session, later, me, starts_at=now + timedelta(days=9), answers=["NEEDS-ACTION", "NEEDS-ACTION"]
    )
    _meeting(db_session, sooner, me, starts_at=now + timedelta(days=2), answers=["ACCEPTED", "NEEDS-ACTION"])
    _meeting(db_session, answered, me, starts_at=now + timedelta(days=3), answers=["ACCEPTED", "DECLINED"])
    _meeting(db_session, begun, me, starts_at=now - timedelta(minutes=5), answers=["NEEDS-ACTION"])
    other = _meeting(
        db_session,
        someone_elses,
        parties.region_user,
        starts_at=now + timedelta(days=1),
        answers=["NEEDS-ACTION"],
    )
    other.booked_by_user_id = parties.municipality_user.id
    db_session.add(other)
    db_session.commit()
    html = section_html(text_of(as_region.get("/")), "invitations")
    cases = [later, sooner, answered, begun, someone_elses]
    assert order_of(html, cases) == [sooner.reference, later.reference]
    assert "1 inbjuden" in html and "2 inbjudna" in html


def test_efforts_past_their_end_date_that_my_organisation_owns(
    as_region, db_session, parties, create_case, quiet, now
):
    case = create_case()
    quiet(now)
    plan = Plan(case_id=case.id)
    db_session.add(plan)
    db_session.flush()
    today = to_local(now).date()
    region_org = parties.region.organisation_id
    municipality_org = parties.municipality.organisation_id
    efforts = [
        ("Hemtjänst varje morgon", region_org, today - timedelta(days=10), "ongoing"),
        ("Samtalsstöd hos kurator", region_org, today - timedelta(days=1), "planned"),
        ("Avslutad rehabilitering", region_org, today - timedelta(days=20), "done"),
        ("Kommunens boendestöd", municipality_org, today - timedelta(days=5), "ongoing"),
        ("Fortsatt läkemedelsgenomgång", region_org, today + timedelta(days=3), "ongoing"),
    ]
    for position, (what, organisation_id, ends_on, status) in enumerate(efforts):
        db_session.add(
            PlanEffort(
                plan_id=plan.id,
                what=what,
                organisation_id=organisation_id,
                ends_on=ends_on,
                status=status,
                position=position,
            )
        )
    db_session.commit()
    html = section_html(text_of(as_region.get("/")), "efforts")
    shown = [what for what, *_ in efforts if what in html]
    assert shown == ["Hemtjänst varje morgon", "Samtalsstöd hos kurator"]
    assert html.index("Hemtjänst") < html.index("Samtalsstöd")  # the oldest end date first
    assert f'href="/cases/{case.uid}/plan#efforts"' in html  # the plan's efforts (test_todo_effort_links)


def test_a_long_section_shows_a_few_rows_and_pages_the_rest_by_cursor(
    as_region, db_session, create_case, quiet, now
):
    cases = [create_case() for _ in range(3)]
    quiet(now)
    count = PER_PAGE + OVERVIEW_ROWS + 3
    for number in range(count):
        db_session.add(
            Deadline(
                case_id=cases[number % 3].id, kind="kallelse", due_at=now - timedelta(hours=count - number)
            )
        )
    db_session.commit()
    overview = section_html(text_of(as_region.get("/")), "deadlines")
    assert overview.count("<tr>") == OVERVIEW_ROWS + 1  # the head and the rows
    more = re.search(r'href="(/todo/deadlines)"', overview)
    assert more, overview
    seen, url, pages = 0, more.group(1), 0
    while url:
        page = section_html(text_of(as_region.get(url)), "deadlines")
        seen += page.count("<tr>") - 1
        pages += 1
        found = re.search(r'rel="next" href="([^"]+)"', page)
        url = found.group(1).replace("&amp;", "&") if found else None
        if url:
            token = url.split("after=", 1)[1]
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
            # A time and a row id: nothing about the person.
            assert re.fullmatch(r"1\|t\|[0-9T:+.\-]+\|\d+", raw), raw
    assert (seen, pages) == (count, 2)


def test_the_links_onwards_name_their_section(as_region, db_session, create_case, quiet, now):
    """A screen reader's list of links shows each without its heading: "Visa fler" five times on the overview,
    or a bare "Nästa", says nothing of where it leads."""
    case = create_case()
    quiet(now)
    count = PER_PAGE + OVERVIEW_ROWS + 1
    db_session.add_all(
        Deadline(case_id=case.id, kind="kallelse", due_at=now - timedelta(hours=count - number))
        for number in range(count)
    )
    db_session.commit()

    def said(link) -> str:  # spoken() puts a space for every tag, the visually hidden text's too
        return spoken(link.group(1)).replace(" :", ":")

    overview = section_html(text_of(as_region.get("/")), "deadlines")
    more = re.search(r'<a rel="next" href="/todo/deadlines">(.*?)</a>', overview)
    assert more and said(more) == "Visa fler: Tidsfrister, missade och kommande"
    first = section_html(text_of(as_region.get("/todo/deadlines")), "deadlines")
    onwards = re.search(r'<a rel="next" href="[^"]+">(.*?)</a>', first)
    assert onwards and said(onwards) == "Nästa sida: Tidsfrister, missade och kommande"
    english = section_html(text_of(as_region.get("/todo/deadlines?lang=en")), "deadlines")
    onwards = re.search(r'<a rel="next" href="[^"]+">(.*?)</a>', english)
    assert onwards and said(onwards) == "Next page: Deadlines, missed and coming"


def test_a_section_page_is_titled_by_its_section_and_a_later_page_starts_at_its_heading(
    as_region, db_session, create_case, quiet, now
):
    """Each section's page had the title "Att göra" of the overview; a later page began at the top of the
    page again, the rows the link onwards led to far below."""
    case = create_case()
    quiet(now)
    count = PER_PAGE + 1
    db_session.add_all(
        Deadline(case_id=case.id, kind="kallelse", due_at=now - timedelta(hours=count - number))
        for number in range(count)
    )
    db_session.commit()
    first = text_of(as_region.get("/todo/deadlines?lang=sv"))
    assert "<title>Tidsfrister, missade och kommande · Att göra · sipflow</title>" in first
    assert "autofocus" not in first
    onwards = re.search(r'<a rel="next" href="([^"]+)"', first).group(1).replace("&amp;", "&")
    later = text_of(as_region.get(onwards))
    assert '<h2 id="todo-deadlines-title" tabindex="-1" autofocus>' in later
    english = text_of(as_region.get("/todo/follow_ups?lang=en"))
    assert "<title>Follow-ups due · To do · sipflow</title>" in english
    # The overview's own words stay each in the page's language, the section titles too.
    assert "Tidsfrister, missade och kommande" in text_of(as_region.get("/?lang=sv"))


def test_an_unknown_section_is_a_404_and_a_malformed_cursor_the_first_page(as_region):
    assert as_region.get("/todo/nonsense").status_code == 404
    assert as_region.get("/todo/deadlines?after=%%%").status_code == 200
    assert as_region.get("/todo/efforts?after=" + "A" * 500).status_code == 200


def test_another_sections_cursor_shows_the_first_page_not_an_error(
    as_region, db_session, create_case, quiet, now
):
    # A "Next" link of the efforts (a date cursor) with another section's name, and the other way round.
    case = create_case()
    quiet(now)
    db_session.add(Deadline(case_id=case.id, kind="kallelse", due_at=now - timedelta(days=1)))
    db_session.commit()
    dated = Cursor(to_local(now).date() - timedelta(days=30), 1).encode()
    for name in ("deadlines", "invitations"):
        response = as_region.get(f"/todo/{name}?after={dated}")
        assert response.status_code == 200, name
    assert case.reference in section_html(
        text_of(as_region.get(f"/todo/deadlines?after={dated}")), "deadlines"
    )
    timed = Cursor(now + timedelta(days=365), 2**40).encode()
    assert as_region.get(f"/todo/efforts?after={timed}").status_code == 200


def test_the_cursor_round_trips_times_and_dates(now):
    for value in (now, date(2027, 1, 15)):
        assert Cursor.decode(Cursor(value, 42).encode()) == Cursor(value, 42)
    assert Cursor.decode("bm9wZQ") is None


@pytest.mark.parametrize(
    "value", ["2026-12-04T04:19:00", "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"]
)
def test_a_cursor_time_without_its_offset_or_beyond_utc_is_malformed(as_region, value):
    """The same parser as Mina SIP's cursor: no offset, or an instant UTC cannot hold, is the first page."""
    token = base64.urlsafe_b64encode(f"1|t|{value}|3".encode()).decode().rstrip("=")
    assert Cursor.decode(token) is None
    assert as_region.get(f"/todo/deadlines?after={token}").status_code == 200


def test_the_page_costs_the_same_statements_with_many_rows_as_with_few(
    as_region, app, db_session, create_case, quiet, now
):
    engine = app.extensions["sipflow.engine"]
    case = create_case()
    quiet(now)
    db_session.add(Deadline(case_id=case.id, kind="kallelse", due_at=now))
    db_session.commit()
    with support.statements(engine) as few:
        as_region.get("/")
    more = [create_case() for _ in range(12)]
    for other in more:
        db_session.add(Deadline(case_id=other.id, kind="kallelse", due_at=now))
    db_session.commit()
    with support.statements(engine) as many:
        as_region.get("/")
    assert len(many) == len(few)


def test_the_swedish_invitations_section_speaks_of_kallelser_as_the_reminders_do(as_region, quiet, now):
    quiet(now)
    html = section_html(text_of(as_region.get("/?lang=sv")), "invitations")
    assert "Obesvarade kallelser till möten du bokat" in html and "inbjudningar" not in html
