"""Mina SIP filtered by the keyboard in Chromium: the page that comes back gives the focus to the line saying
what the list now shows and under which filters, so a screen reader says it and Tab goes on into the list,
rather than the focus starting again at the top of the page with nothing said; a refused filter gives it to
the error summary."""

from __future__ import annotations

from focus import focused
from playwright.sync_api import expect
from test_add_rows_focus_browser import log_in_by_keyboard
from test_browser import live_server  # noqa: F401  (the fixture shared with the other browser tests)


def test_the_result_of_a_filter_has_the_focus(live_server, browser):  # noqa: F811
    context = browser.new_context(locale="sv-SE", timezone_id="Europe/Stockholm")
    page = context.new_page()
    log_in_by_keyboard(page, live_server, "anna")
    page.goto(f"{live_server}/cases")
    # Mikael's SIP is the demo's one with its plan established.
    page.get_by_label("Läge").select_option(label="Plan upprättad")
    page.get_by_role("button", name="Filtrera").focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")

    expect(page.get_by_role("table", name="Mina SIP")).to_contain_text("SIP-DEMO-0002")
    assert focused(page, ".id") == "list-result"
    assert focused(page, ".textContent") == "Sida 1: 1 SIP. Filtrerat på Läge: Plan upprättad."
    page.keyboard.press("Tab")
    assert focused(page, ".getAttribute('aria-label')") == "Mina SIP"  # the list's scrolling frame

    # A person filter the page refuses: the summary has the focus, its link leads to the field.
    page.get_by_label("Person (personnummer, samordningsnummer eller reservnummer)").fill("123")
    with page.expect_navigation():
        page.get_by_label("Person (personnummer, samordningsnummer eller reservnummer)").press("Enter")
    assert focused(page, ".id") == "error-summary"
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    assert focused(page, ".id") == "filter-person"
    context.close()
