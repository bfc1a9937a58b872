"""Ny SIP in English by the keyboard, for a person who already has an open SIP: nothing is started and the
form comes back with the warning naming that SIP and how to start another all the same. The warning has the
focus as the page loads (an alert present at load is not read out), so a screen reader says why, rather than
a New SIP page as before with nothing started."""

from __future__ import annotations

from datetime import date

from focus import focused
from test_browser import live_server, personnummer  # noqa: F401  (the fixture shared with the other browser tests)

from sipflow.demo import DEMO_PASSWORD


def test_the_open_sip_warning_takes_the_focus(live_server, browser):  # noqa: F811
    context = browser.new_context(locale="en-GB", timezone_id="Europe/Stockholm")
    page = context.new_page()
    page.goto(f"{live_server}/login?lang=en")
    page.locator("#username").focus()
    page.keyboard.type("maria")
    page.keyboard.press("Tab")
    page.keyboard.type(DEMO_PASSWORD)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    for _time in range(2):
        page.goto(f"{live_server}/cases/new")
        page.get_by_label("Kind of SIP").select_option(label="SIP for a child")
        page.get_by_role("textbox", name="Identifier").fill(personnummer(date(2011, 7, 2), 913))
        page.get_by_label("Given name").fill("Sam")
        page.get_by_label("Family name").fill("Ek")
        page.get_by_label("Municipality of registration").select_option(label="Växjö")
        page.get_by_role("button", name="Start the SIP").focus()
        with page.expect_navigation():
            page.keyboard.press("Enter")

    assert focused(page, ".id") == "open-sip-warning"
    assert "The person already has an open SIP" in focused(page, ".textContent")
    context.close()
