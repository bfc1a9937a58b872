"""Huvudansvar handed over in the plan editor, by the keyboard in Chromium: the page's message of it has the
focus as the page loads, so a screen reader reads it and then the warning after it (the contact the plan
named, a person of the organisation giving it up, is cleared: name the new one), rather than starting at the
huvudansvar section further down and never hearing either."""

from __future__ import annotations

from focus import focused
from playwright.sync_api import expect
from test_add_rows_focus_browser import open_by_keyboard
from test_browser import live_server  # noqa: F401  (the fixture shared with the other browser tests)

# Mikael's SIP: Växjö kommun holds huvudansvar, its contact Sara Ek; anna's region may take it over.
REFERENCE = "SIP-DEMO-0002"


def test_the_hand_over_message_has_the_focus(app, live_server, browser):  # noqa: F811
    context, page = open_by_keyboard(app, browser, live_server, REFERENCE, "/plan")
    page.locator("#huvudansvar summary").focus()
    page.keyboard.press("Enter")
    # The hand-over's fields and button are the editor form's (what is typed in the plan goes with them).
    form = page.locator("#huvudansvar details")
    form.get_by_role("combobox").select_option(label="Region Kronoberg")
    form.get_by_role("textbox").focus()
    page.keyboard.type("Psykiatrin håller ihop insatserna nu")
    form.get_by_role("button").focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")

    expect(page.locator("#huvudansvar")).to_contain_text("Region Kronoberg har huvudansvaret.")
    assert focused(page, ".matches('.flash[role=status]')")
    assert focused(page, ".textContent") == "Huvudansvaret är givet."
    # The warning comes next in reading order, before anything else of the page.
    warning = page.locator(".flash-warning")
    expect(warning).to_contain_text("ange den nya kontakten i planen")
    assert focused(
        page,
        ".compareDocumentPosition(document.querySelector('.flash-warning'))"
        " & Node.DOCUMENT_POSITION_FOLLOWING",
    )
    context.close()
