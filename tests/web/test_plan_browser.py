"""The plan in a real browser: record the meeting, write the plan, establish it, download the PDF; the person
opens their personal link and approves it."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlmodel import select
from test_browser import live_server, personnummer  # noqa: F401  (the shared browser fixtures)

from sipflow.cases import services
from sipflow.cases.models import Participant
from sipflow.cases.scripted import fire_scripted
from sipflow.clock import add_days, first_working_day, local_to_utc, now_utc, to_local
from sipflow.db import get_session, unit_of_work
from sipflow.demo import DEMO_PASSWORD
from sipflow.people.identifiers import parse_identifier
from sipflow.people.models import Unit, User
from sipflow.people.services import register_person

TIMEOUT = 15_000
PERSON_EMAIL = "mikael.testsson@example.se"
PREPARED_GOAL = "att jag har mina kontakter som känner mig på soc och arbetsförmedlingen"
WRITTEN_GOAL = "att jag får träffa mina barn ibland utan att det blir bråk"


@dataclass
class InvitedCase:
    uid: str
    reference: str
    meeting_day: date
    employment_service_id: int
    municipality_id: int
    person_participant_id: int


@pytest.fixture
def site(app, live_server) -> Iterator[str]:  # noqa: F811
    """The live server, with the links in e-mails pointing at it (app.config is shared: restored)."""
    saved = app.config["PUBLIC_URL"]
    app.config["PUBLIC_URL"] = live_server
    yield live_server
    app.config["PUBLIC_URL"] = saved


def invited_case(app) -> InvitedCase:
    """A Mikael-like case walked by the services to "invited", its meeting booked for a past working day."""
    with app.test_request_context():
        session = get_session()
        registry = app.extensions["sipflow.workflows"]
        users = {u.username: u for u in session.exec(select(User)).all()}
        units = {u.key: u for u in session.exec(select(Unit).where(Unit.key.is_not(None))).all()}
        now = now_utc()
        start = now - timedelta(days=20)
        with unit_of_work(session):
            identifier = parse_identifier(personnummer(date(1981, 6, 12), 983), today=to_local(start).date())
            person = register_person(
                session,
                app.config["PNR_HASH_KEY"],
                identifier,
                given_name="Mikael",
                family_name="Testsson",
                home_municipality_code="0780",
                now=start,
            )
            case = services.create_case(
                session,
                registry,
                users["anna"],
                workflow_name="sip",
                person=person,
                unit_ids=[units["kommun-0780-ifo"].id, units["arbetsformedlingen-vaxjo"].id],
                now=start,
            )
            person_row = session.exec(
                select(Participant).where(Participant.case_id == case.id, Participant.kind == "person")
            ).one()
            services.set_participant_contact(
                session, registry, case, person_row.id, email=PERSON_EMAIL, phone=None, now=start
            )
        anna = users["anna"]
        with unit_of_work(session):
            fire_scripted(session, registry, anna, case, "give_consent", now=start + timedelta(days=1))
        with unit_of_work(session):
            fire_scripted(
                session,
                registry,
                anna,
                case,
                "start_preparation",
                now=start + timedelta(days=2),
                data={"questions": "Vad kan jag göra på dagarna?", "own_goals": PREPARED_GOAL},
            )
        # Booked ten days ago for a working day that has passed since: the meeting is held on its day.
        meeting_day = to_local(add_days(now, -2, working_days=True)).date()
        starts_at = local_to_utc(datetime.combine(meeting_day, time(13, 0)))
        with unit_of_work(session):
            invitees = session.exec(
                select(Participant.id).where(Participant.case_id == case.id, Participant.active)
            ).all()
            fire_scripted(
                session,
                registry,
                anna,
                case,
                "send_kallelse",
                now=now - timedelta(days=10),
                data={
                    "send_invitations": True,
                    "meeting_starts_at": starts_at,
                    "meeting_ends_at": starts_at + timedelta(minutes=90),
                    "mode": "on_site",
                    "location": "Vårdcentralen Teleborg, Växjö",
                    "invitee_ids": list(invitees),
                },
            )
        assert case.state == "invited"
        return InvitedCase(
            case.uid,
            case.reference,
            meeting_day,
            units["arbetsformedlingen-vaxjo"].organisation_id,
            units["kommun-0780-ifo"].organisation_id,
            person_row.id,
        )


def personal_link(outbox: Path, before: set[Path], reference: str) -> str:
    """The /my-plan/ link mailed to the person since before; the subject names neither person nor case."""
    found = []
    for path in sorted(set(outbox.glob("*.eml")) - before):
        message = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
        text = message.get_body(("plain",)).get_content()
        if message["To"].addresses[0].addr_spec == PERSON_EMAIL and "/my-plan/" in text:
            assert "Mikael" not in message["Subject"] and "Testsson" not in message["Subject"]
            found.append(text)
    assert len(found) == 1, found
    links = re.findall(r"https?://\S+/my-plan/\S+", found[0])
    assert len(links) == 1, found[0]
    return links[0]


def test_record_the_meeting_write_and_establish_the_plan_and_the_person_approves(
    app,
    site,
    browser,
    tmp_path,
):
    case = invited_case(app)
    refused: list[str] = []

    def watch(context):
        context.set_default_timeout(TIMEOUT)
        context.on(
            "console",
            lambda message: refused.append(message.text) if "Content Security" in message.text else None,
        )
        return context.new_page()

    staff = browser.new_context(locale="sv-SE", timezone_id="Europe/Stockholm", accept_downloads=True)
    page = watch(staff)
    page.goto(f"{site}/login")
    page.get_by_label("Användarnamn").fill("anna")
    page.get_by_label("Lösenord").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Logga in").click()
    expect(page.get_by_role("heading", name="Att göra", exact=True)).to_be_visible()

    # The meeting: held on its booked day, everyone on site, one decision with its owner and date.
    page.goto(f"{site}/cases/{case.uid}/meetings/outcome")
    page.locator("input[name=held_at]").fill(f"{case.meeting_day.isoformat()}T13:05")
    attendance = page.locator("select[name^=attendance_]")
    expect(attendance).not_to_have_count(0)
    for index in range(attendance.count()):
        attendance.nth(index).select_option("on_site")
    page.locator("[name='decisions-0-text']").fill("Kartläggning inför arbetsträning på dagarna")
    page.locator("[name='decisions-0-owner']").select_option(f"organisation:{case.employment_service_id}")
    due = case.meeting_day + timedelta(days=30)
    page.locator("[name='decisions-0-due_on']").fill(due.isoformat())
    page.locator("#outcome-form button[type=submit]:not([name])").click()
    expect(page.locator(".state-badge")).to_have_text("Möte hållet")

    # The plan: his own goals, the decision's effort with a responsible person, one more effort.
    page.goto(f"{site}/cases/{case.uid}/plan")
    expect(page.locator("[name='own_goals-0-text']")).to_have_value(PREPARED_GOAL)
    page.locator("[name='own_goals-1-text']").fill(WRITTEN_GOAL)
    expect(page.locator("[name='efforts-0-what']")).to_have_value(
        "Kartläggning inför arbetsträning på dagarna"
    )
    page.locator("[name='efforts-0-responsible']").fill("Omar Said")
    page.locator("[name='efforts-1-what']").fill("Budget- och skuldrådgivning")
    page.locator("[name='efforts-1-organisation_id']").select_option(str(case.municipality_id))
    page.locator("[name='efforts-1-responsible']").fill("Sara Ek")
    today = to_local(now_utc()).date()
    page.locator("[name='efforts-1-starts_on']").fill(today.isoformat())
    page.locator("[name='efforts-1-ends_on']").fill((today + timedelta(days=120)).isoformat())
    page.locator("[name=no_other_measures]").check()
    page.locator("[name=follow_up_on]").fill(first_working_day(today + timedelta(days=90)).isoformat())
    page.locator("#plan-actions button[name=action][value=save]").click()
    expect(page.locator("[name='own_goals-1-text']")).to_have_value(WRITTEN_GOAL)
    expect(page.locator("[name='efforts-1-responsible']")).to_have_value("Sara Ek")

    # Huvudansvar to the municipality, through its own action; then the plan is established.
    page.locator("#huvudansvar summary").click()
    page.locator("#huvudansvar details select").select_option(str(case.municipality_id))
    page.locator("button[formaction$='/plan/huvudansvar']").click()
    expect(page.locator("#huvudansvar")).to_contain_text("Växjö kommun")
    page.locator("button[formaction$='/plan/establish']").click()
    expect(page.locator(".state-badge")).to_have_text("Plan upprättad")

    # The established version's PDF, downloaded from the version page.
    page.goto(f"{site}/cases/{case.uid}/plan/versions/1")
    with page.expect_download() as download_info:
        page.locator("a[href$='/plan/versions/1/pdf']").click()
    pdf_path = tmp_path / "plan.pdf"
    download_info.value.save_as(pdf_path)
    assert pdf_path.read_bytes().startswith(b"%PDF")
    text = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(pdf_path), "-"], capture_output=True, check=True, text=True
    ).stdout
    flowing = " ".join(text.split())  # pdftotext breaks long lines where the PDF wraps them
    assert WRITTEN_GOAL in flowing and PREPARED_GOAL in flowing  # å, ä and ö
    assert "Budget- och skuldrådgivning" in text

    # The personal link, by e-mail to the person; opened in a browser of their own.
    outbox = Path(app.config["OUTBOX_DIR"])
    before = set(outbox.glob("*.eml"))
    page.goto(f"{site}/cases/{case.uid}/plan/links")
    page.locator("form[action$='/plan/links'] select").select_option(str(case.person_participant_id))
    page.locator("form[action$='/plan/links'] button[type=submit]").click()
    expect(page.locator(".flash-success")).to_be_visible()
    link = personal_link(outbox, before, case.reference)
    assert link.startswith(f"{site}/my-plan/")

    person = browser.new_context(locale="sv-SE", timezone_id="Europe/Stockholm")
    mine = watch(person)
    mine.goto(link)
    expect(mine.locator("body")).to_contain_text(WRITTEN_GOAL)
    expect(mine.locator("body")).to_contain_text("Budget- och skuldrådgivning")
    mine.locator("form[action$='/approve'] button[type=submit]").click()
    expect(mine.locator(".flash-success")).to_be_visible()
    expect(mine.locator(".tag-ok")).to_have_count(1)
    expect(mine.locator("form[action$='/approve']")).to_have_count(0)
    person.close()

    # The staff see the person's digital approval of version 1.
    page.goto(f"{site}/cases/{case.uid}/plan/approvals")
    expect(page.locator(".tag-ok")).to_have_count(1)
    staff.close()
    assert not refused, refused
