"""Huvudansvar handed over in Chromium while the plan holds text not saved yet: the text is saved with the
hand-over, not thrown away with the page (the hand-over was a form of its own); Enter in a field of the plan
still saves the plan, never hands huvudansvar over."""

from __future__ import annotations

from playwright.sync_api import expect
from test_add_rows_focus_browser import open_by_keyboard
from test_browser import live_server  # noqa: F401  (the fixture shared with the other browser tests)

# Mikael's SIP: Växjö kommun holds huvudansvar; anna's region may take it over.
REFERENCE = "SIP-DEMO-0002"
TYPED = "Mikael behöver stöd med ekonomin varje månad, skrivet precis före överlämningen"


def test_text_typed_in_the_plan_is_saved_with_the_hand_over(app, live_server, browser):  # noqa: F811
    context, page = open_by_keyboard(app, browser, live_server, REFERENCE, "/plan")
    page.locator("[name='needs']").fill(TYPED)
    page.locator("#huvudansvar summary").click()
    page.locator("#huvudansvar details select").select_option(label="Region Kronoberg")
    page.locator("#huvudansvar details textarea").fill("Psykiatrin håller ihop insatserna nu")
    with page.expect_navigation():
        page.get_by_role("button", name="Ge huvudansvaret").click()

    expect(page.locator("#huvudansvar")).to_contain_text("Region Kronoberg har huvudansvaret.")
    expect(page.locator(".flash").first).to_contain_text("Planen är sparad.")
    page.reload()
    expect(page.locator("[name='needs']")).to_have_value(TYPED)

    # Enter in a field of the plan sends "Save the plan", not the hand-over above it.
    page.locator("[name='needs']").fill(TYPED + " och mer")
    page.locator("[name='efforts-0-responsible']").focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.locator(".flash").first).to_have_text("Planen är sparad.")
    expect(page.locator("[name='needs']")).to_have_value(TYPED + " och mer")
    expect(page.locator("#huvudansvar")).to_contain_text("Region Kronoberg har huvudansvaret.")
    context.close()
