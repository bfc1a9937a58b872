"""A BUP clinician working in English by the keyboard in Chromium starts a SIP for a 15-year-old and adds a
guardian with a mistyped e-mail address: the case page comes back with the refusal, and the other forms of
that page are as fresh as on any other visit. "Record consent" still has every organisation taking part
ticked, as before the refusal, rather than none (then refused with "Choose the organisations the consent
covers" for a box the user never unticked)."""

from __future__ import annotations

from datetime import date

from focus import focused
from playwright.sync_api import expect
from test_browser import live_server, personnummer  # noqa: F401  (the fixture shared with the other browser tests)

from sipflow.demo import DEMO_PASSWORD


def test_a_refused_guardian_leaves_the_consent_forms_organisations_ticked(live_server, browser):  # noqa: F811
    context = browser.new_context(locale="en-GB", timezone_id="Europe/Stockholm")
    page = context.new_page()
    page.goto(f"{live_server}/login?lang=en")
    page.get_by_label("Username").focus()
    page.keyboard.type("maria")
    page.keyboard.press("Tab")
    page.keyboard.type(DEMO_PASSWORD)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.goto(f"{live_server}/cases/new")
    page.get_by_label("Kind of SIP").select_option(label="SIP for a child")
    page.get_by_role("textbox", name="Identifier").fill(personnummer(date(2011, 5, 14), 642))
    page.get_by_label("Given name").fill("Alex")
    page.get_by_label("Family name").fill("Berg")
    page.get_by_label("Municipality of registration").select_option(label="Växjö")
    page.get_by_label("Socialtjänsten (IFO)").check()
    page.get_by_role("button", name="Start the SIP").focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    organisations = page.locator("#action-give_consent [name='give_consent-organisation_ids']")
    expect(organisations).to_have_count(2)
    for box in organisations.all():
        expect(box).to_be_checked()

    page.locator("summary", has_text="A relative, a guardian").focus()
    page.keyboard.press("Enter")
    page.get_by_label("Guardian", exact=True).focus()
    page.keyboard.press("Space")
    page.get_by_role("textbox", name="Name", exact=True).focus()
    page.keyboard.type("Karin Berg")
    page.get_by_role("textbox", name="E-mail").first.focus()
    page.keyboard.type("karin.example.se")
    page.get_by_role("button", name="Add the person").focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")

    assert focused(page, ".id") == "error-summary"
    expect(page.locator("#error-summary")).to_contain_text("E-mail")
    # The consent form, not the one refused, is as on the page before.
    expect(organisations).to_have_count(2)
    for box in organisations.all():
        expect(box).to_be_checked()
    context.close()
