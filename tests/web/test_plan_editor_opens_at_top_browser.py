"""The plan editor opened in Chromium starts where any page does: at its top, the focus on no field, so a
screen reader reads the heading, what is still missing and the huvudansvar before the form, and the first
Tab reaches the skip link. Only "Lägg till fler rader" moves the focus, into the first row it added
(test_add_rows_focus_browser): the blank rows every editor page carries are no reason to open mid-form."""

from __future__ import annotations

from focus import focused
from playwright.sync_api import expect
from test_add_rows_focus_browser import open_by_keyboard
from test_browser import live_server  # noqa: F401  (the fixture shared with the other browser tests)

# Mikael's SIP: six goals of his own, so a blank row is far down the page.
REFERENCE = "SIP-DEMO-0002"


def test_the_plan_editor_opens_at_its_top(app, live_server, browser):  # noqa: F811
    context, page = open_by_keyboard(app, browser, live_server, REFERENCE, "/plan")
    expect(page.get_by_role("heading", name="Planen", level=1)).to_be_visible()
    assert focused(page, " === document.body")
    assert page.evaluate("window.scrollY") == 0
    assert page.locator("#plan-form [autofocus]").count() == 0
    page.keyboard.press("Tab")
    assert focused(page, ".textContent.trim()") == "Hoppa till innehållet"
    context.close()
