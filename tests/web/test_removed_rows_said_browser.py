"""Rows removed from the plan, by the keyboard in Chromium: the message that has the focus after the save says
how many rows were removed, not only that the plan is saved (the rows are gone from the page, and a screen
reader user has no other way to hear that the ticks took effect). No goal's words are in the message."""

from __future__ import annotations

from focus import focused
from playwright.sync_api import expect
from test_add_rows_focus_browser import open_by_keyboard
from test_browser import live_server  # noqa: F401  (the fixture shared with the other browser tests)

# Mikael's SIP: six goals of his own.
REFERENCE = "SIP-DEMO-0002"


def save_by_keyboard(page) -> None:
    page.get_by_role("button", name="Spara planen").focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")


def test_the_saved_message_says_how_many_rows_were_removed(app, live_server, browser):  # noqa: F811
    context, page = open_by_keyboard(app, browser, live_server, REFERENCE, "/plan")
    last = page.locator("#own_goals-5-text").input_value()
    page.get_by_role("checkbox", name="Ta bort personens mål 6", exact=True).focus()
    page.keyboard.press("Space")
    save_by_keyboard(page)
    assert focused(page, ".matches('.flash[role=status]')")
    assert focused(page, ".textContent") == "Planen är sparad. En rad togs bort."
    expect(page.locator("#own_goals-5-text")).not_to_have_value(last)

    for name in ("Ta bort personens mål 1", "Ta bort insats 3"):
        page.get_by_role("checkbox", name=name, exact=True).focus()
        page.keyboard.press("Space")
    save_by_keyboard(page)
    assert focused(page, ".textContent") == "Planen är sparad. 2 rader togs bort."

    save_by_keyboard(page)  # nothing ticked: the message as before
    assert focused(page, ".textContent") == "Planen är sparad."
    context.close()
