"""Invitations in a real browser: book a video meeting, open the invitee's answer link, accept."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest
from flask_babel import force_locale
from playwright.sync_api import expect
from test_browser import live_server  # noqa: F401  (the fixture shared with the other browser tests)

from sipflow.clock import add_days, now_utc, to_local
from sipflow.demo import DEMO_PASSWORD
from sipflow.meetings.forms import ANSWER_LABELS, ANSWER_MODE_LABELS, PARTSTAT_LABELS

REFERENCE = "SIP-DEMO-0001"
MOTHER = "annika.sandberg@example.se"
TIMEOUT = 10_000


@pytest.fixture
def site(app, live_server) -> Iterator[str]:  # noqa: F811
    """The live server, with the answer links in e-mails pointing at it (app.config is shared: restored)."""
    saved = app.config["PUBLIC_URL"]
    app.config["PUBLIC_URL"] = live_server
    yield live_server
    app.config["PUBLIC_URL"] = saved


def answer_link(outbox: Path, before: set[Path]) -> str:
    """The /answer/ link of the invitation mailed to the mother since before; the message names no one."""
    found = []
    for path in sorted(set(outbox.glob("*.eml")) - before):
        message = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
        if message["To"].addresses[0].addr_spec == MOTHER and REFERENCE in message["Subject"]:
            found.append(message)
    assert len(found) == 1, [m["Subject"] for m in found]
    message = found[0]
    calendars = [
        part.get_payload(decode=True).decode()
        for part in message.walk()
        if part.get_content_type() in ("text/calendar", "application/ics")
    ]
    assert len(calendars) == 2 and all("BEGIN:VCALENDAR" in ics for ics in calendars)
    for private in ("Viktoria", "Sandberg"):
        assert private not in message["Subject"]
        assert all(private not in ics for ics in calendars)
    text = message.get_body(("plain",)).get_content()
    links = re.findall(r"https?://\S+/answer/\S+", text)
    assert len(links) == 1, text
    return links[0]


def test_book_a_video_meeting_and_accept_through_the_answer_link(app, site, browser):
    # The labels as the pages show them, translated or not yet (the catalogue is still growing).
    with app.test_request_context(), force_locale("sv"):
        accepted, by_video = str(PARTSTAT_LABELS["ACCEPTED"]), str(ANSWER_MODE_LABELS["video"])
        # The invitee's own page says the answer back as they chose it.
        coming = str(ANSWER_LABELS["ACCEPTED"])
    # The CSP forbids inline script and style; the console reports any that the pages would need.
    refused: list[str] = []

    def watch(context):
        context.set_default_timeout(TIMEOUT)
        context.on(
            "console",
            lambda message: refused.append(message.text) if "Content Security" in message.text else None,
        )
        return context.new_page()

    staff = browser.new_context(locale="sv-SE", timezone_id="Europe/Stockholm")
    page = watch(staff)
    page.goto(f"{site}/login")
    page.get_by_label("Användarnamn").fill("anna")
    page.get_by_label("Lösenord").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Logga in").click()
    expect(page.get_by_role("heading", name="Att göra", exact=True)).to_be_visible()
    page.get_by_role("navigation").get_by_role("link", name="Mina SIP").click()
    expect(page.get_by_role("heading", name="Mina SIP")).to_be_visible()

    page.get_by_role("link", name=REFERENCE, exact=True).click()
    expect(page.get_by_role("heading", name=REFERENCE)).to_be_visible()
    expect(page.locator(".state-badge")).to_have_text("Samtycke givet")
    page.locator("#action-start_preparation summary").click()
    page.locator("form[action$='/transitions/start_preparation'] button[type=submit]").click()
    expect(page.locator(".state-badge")).to_have_text("Förberedelse")

    page.locator("a[href$='/meetings/new']").click()
    expect(page).to_have_url(re.compile(r"/cases/[^/]+/meetings/new$"))
    # A working day about ten days ahead, in Swedish time.
    day = to_local(add_days(now_utc() + timedelta(days=9), 1, working_days=True)).date()
    page.locator("#date").fill(day.isoformat())
    page.locator("#starts").fill("10:00")
    page.locator("#ends").fill("11:00")
    page.locator("input[name=mode][value=video]").check()
    invitees = page.locator("input[name=invitee_ids]")
    expect(invitees).not_to_have_count(0)
    for index in range(invitees.count()):
        expect(invitees.nth(index)).to_be_checked()
    outbox = Path(app.config["OUTBOX_DIR"])
    before = set(outbox.glob("*.eml"))
    page.locator("form[action$='/meetings/new'] button[type=submit]").click()

    expect(page).to_have_url(re.compile(r"/cases/[^/]+/meetings/\d+$"))
    meeting_url = page.url
    video = page.locator("#h-meeting + dl a[href^='https://']")
    expect(video).to_have_text(re.compile(r"^https://"))
    page.get_by_role("link", name=REFERENCE, exact=True).click()
    expect(page.locator(".state-badge")).to_have_text("Kallad")

    link = answer_link(outbox, before)
    assert link.startswith(f"{site}/answer/")
    invitee = browser.new_context(locale="sv-SE", timezone_id="Europe/Stockholm")
    answer = watch(invitee)
    answer.goto(link)
    expect(answer.locator("h1")).to_contain_text(REFERENCE)
    expect(answer.locator("body")).not_to_contain_text("Viktoria")
    answer.locator("input[name=partstat][value=ACCEPTED]").check()
    answer.locator("input[name=answer_mode][value=video]").check()
    answer.locator("textarea[name=comment]").fill("Jag kopplar upp mig från jobbet.")
    answer.locator("#answer-form button[type=submit]").click()
    expect(answer.locator(".alert-success[role=status]")).to_contain_text(coming)
    invitee.close()

    page.goto(meeting_url)
    row = page.locator("#h-invitees + .table-wrap table tbody tr", has_text=MOTHER)
    expect(row.locator(".tag")).to_have_text(accepted)
    expect(row).to_contain_text(by_video)
    expect(row).to_contain_text("Jag kopplar upp mig från jobbet.")
    staff.close()
    assert not refused, refused
