"""The keyboard in Chromium: after a step is saved, the page's message of it has the focus as the page loads,
so a screen reader reads it out (a role=status region present at load is not announced) and Tab goes on
from it, in the page's content. A refused form's error summary keeps the focus to itself."""

from __future__ import annotations

from focus import focused
from playwright.sync_api import expect
from test_add_rows_focus_browser import open_by_keyboard
from test_browser import live_server  # noqa: F401  (the fixture shared with the other browser tests)

# Viktoria's SIP: consent given, anna's unit may start the preparation.
REFERENCE = "SIP-DEMO-0001"


def test_the_saved_message_takes_the_focus(app, live_server, browser):  # noqa: F811
    context, page = open_by_keyboard(app, browser, live_server, REFERENCE)
    page.locator("summary", has_text="Börja förbereda").focus()
    page.keyboard.press("Enter")
    form = page.locator("form[action$='/transitions/start_preparation']")
    form.get_by_label("Vad är viktigt för dig?").focus()
    page.keyboard.type("Att få bo kvar hemma")
    form.get_by_role("button", name="Börja förbereda").focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")

    message = page.get_by_role("status").filter(has_text="Börja förbereda: sparat.")
    expect(message).to_be_visible()
    assert focused(page, ".matches('.flash[role=status]')")
    assert "Börja förbereda: sparat." in focused(page, ".textContent")
    # Tab goes on in the page's content, past the header the message came after.
    page.keyboard.press("Tab")
    assert focused(page, ".closest('main') !== null")
    assert focused(page, ".tabIndex") >= 0
    context.close()


def test_a_refused_form_keeps_the_focus_on_its_error_summary(app, live_server, browser):  # noqa: F811
    context, page = open_by_keyboard(app, browser, live_server, REFERENCE)
    page.locator("summary", has_text="Makulera").first.focus()
    page.keyboard.press("Enter")
    form = page.locator("form[action$='/transitions/cancel']")
    reason = form.locator("textarea").first
    reason.focus()
    page.keyboard.type("   ")  # passes the browser's required check, not the server's
    form.locator("button[type=submit]").focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.locator("#error-summary")).to_be_visible()
    assert focused(page, ".id") == "error-summary"
    context.close()
