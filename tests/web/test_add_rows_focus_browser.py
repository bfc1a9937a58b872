"""The keyboard in Chromium: "Lägg till fler rader" (a form sent again, without JavaScript, with empty rows
added) puts the focus in the first row it added, not back at the top of the page, on the outcome page and
in the plan editor."""

from __future__ import annotations

import pytest
from focus import focused
from playwright.sync_api import Page, expect
from sqlmodel import select
from test_browser import live_server  # noqa: F401  (the fixture shared with the other browser tests)

from sipflow.cases.models import SipCase
from sipflow.db import get_session
from sipflow.demo import DEMO_PASSWORD

# Mikael's SIP: its plan established, anna may record the follow-up and revise the plan.
REFERENCE = "SIP-DEMO-0002"


def log_in_by_keyboard(page: Page, site: str, username: str) -> None:
    page.goto(f"{site}/login")
    page.get_by_label("Användarnamn").focus()
    page.keyboard.type(username)
    page.keyboard.press("Tab")
    page.keyboard.type(DEMO_PASSWORD)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Att göra", exact=True)).to_be_visible()


def open_by_keyboard(app, browser, site: str, reference: str, path: str = ""):
    """A new Swedish browser context, anna logged in by the keyboard, on the page of the SIP with reference
    (path: below its case page, e.g. "/plan"): (context, page)."""
    with app.app_context():
        uid = get_session().exec(select(SipCase.uid).where(SipCase.reference == reference)).one()
    context = browser.new_context(locale="sv-SE", timezone_id="Europe/Stockholm")
    page = context.new_page()
    log_in_by_keyboard(page, site, "anna")
    page.goto(f"{site}/cases/{uid}{path}")
    return context, page


@pytest.mark.parametrize(
    ("path", "rows"),
    [
        ("meetings/outcome", "decisions"),  # the outcome page's decisions
        ("plan", "own_goals"),  # the plan editor: the person's own goals are its first list
    ],
)
def test_add_more_rows_puts_the_focus_in_the_first_new_row(app, live_server, browser, path, rows):  # noqa: F811
    context, page = open_by_keyboard(app, browser, live_server, REFERENCE, f"/{path}")
    row_fields = page.locator(f"[id^='{rows}-'][id$='-text']")
    count = row_fields.count()
    first = page.locator(f"#{rows}-0-text")
    first.focus()
    page.keyboard.press("End")
    page.keyboard.type(" och mer")
    typed = first.input_value()
    page.get_by_role("button", name="Lägg till fler rader").focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")

    assert row_fields.count() > count
    # The focus is in the first row added, not at the top of the page (where it was: the body).
    assert focused(page, ".id") == f"{rows}-{count}-text"
    expect(page.locator(f"#{rows}-{count}-text")).to_have_value("")
    expect(first).to_have_value(typed)  # what was typed is kept
    # Typing goes on in the new row.
    page.keyboard.type("En rad till")
    expect(page.locator(f"#{rows}-{count}-text")).to_have_value("En rad till")
    context.close()
