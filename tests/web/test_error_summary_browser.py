"""A refused form in Chromium: the error summary has the focus as the page loads, and following its link
puts the focus in the field at fault (autofocus and the fragment, no script: the CSP allows none inline)."""

from __future__ import annotations

from focus import focused
from playwright.sync_api import expect
from test_browser import live_server  # noqa: F401  (the fixture shared with the other browser tests)

from sipflow.demo import DEMO_PASSWORD


def test_the_summary_takes_the_focus_and_its_link_leads_to_the_field(live_server, browser):  # noqa: F811
    context = browser.new_context(locale="sv-SE", timezone_id="Europe/Stockholm")
    page = context.new_page()
    page.goto(f"{live_server}/login")
    page.get_by_label("Användarnamn").fill("anna")
    page.get_by_label("Lösenord").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Logga in").click()
    expect(page.get_by_role("heading", name="Att göra", exact=True)).to_be_visible()

    page.goto(f"{live_server}/cases/new")
    page.get_by_label("Typ av SIP").select_option("sip")
    page.get_by_label("Identitetsnummer").fill("12345")  # passes the browser's checks, not the server's
    page.get_by_label("Förnamn").fill("Vera")
    page.get_by_label("Efternamn").fill("Lund")
    page.get_by_label("Folkbokföringskommun").select_option(label="Växjö")
    page.get_by_label("Socialtjänsten (IFO)").check()
    page.get_by_role("button", name="Starta SIP:en").click()
    summary = page.locator("#error-summary")
    expect(summary).to_be_visible()
    assert page.title().startswith("Fel: ")
    assert focused(page, ".id") == "error-summary"

    summary.locator('a[href="#identifier"]').click()
    assert focused(page, ".id") == "identifier"
    context.close()
