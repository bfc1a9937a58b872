"""The pages the person and a närstående open from their e-mails, in Chromium: the answer page says when as
the kallelse did (the weekday spelt out, not 2026-12-12 08:46), neither page offers a link to the staff
start page, which is a login they have none for, and the plan's PDF links say which plan they are of."""

from __future__ import annotations

import re

from playwright.sync_api import expect
from test_accessibility import links_from_the_mails, site  # noqa: F401  (the live server, links to it)
from test_browser import live_server  # noqa: F401

from sipflow.clock import now_utc

WEEKDAYS = "måndag|tisdag|onsdag|torsdag|fredag|lördag|söndag"


def test_the_answer_and_plan_pages_speak_as_the_mail_and_lead_to_no_login(app, site, browser):  # noqa: F811
    answer, personal, reference, mailed = links_from_the_mails(app, now_utc(), 9)
    context = browser.new_context(locale="sv-SE", timezone_id="Europe/Stockholm")
    page = context.new_page()

    page.goto(f"{site}/answer/{answer}")
    time = page.locator("dt", has_text="Tid").locator("xpath=following-sibling::dd[1]")
    expect(time).to_have_text(mailed)
    assert re.fullmatch(rf"({WEEKDAYS}) \d+ \w+ \d{{4}} kl\. \d\d:\d\d–\d\d:\d\d \(svensk tid\)", mailed)
    # The banner holds the language switch only; the name "sipflow" is no link to a login.
    banner_links = page.get_by_role("banner").get_by_role("link").all_text_contents()
    assert banner_links == ["Svenska", "English"]

    page.goto(f"{site}/my-plan/{personal}")
    expect(page.get_by_role("heading", name="Mina SIP-planer", level=1)).to_be_visible()
    assert page.get_by_role("banner").get_by_role("link").all_text_contents() == ["Svenska", "English"]
    assert page.locator('a[href="/"]').count() == 0
    # Each PDF link names its plan, as the plan's heading does: a person's several plans each have a pair.
    heading = page.locator(".person-plan h2").first.inner_text().strip()
    assert heading == f"SIP {reference}"
    for name in ("Planen som PDF", "Planen som PDF med stor text"):
        expect(page.get_by_role("link", name=f"{name} ({heading})", exact=True)).to_have_count(1)
    context.close()
