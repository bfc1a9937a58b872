"""A plan step refused in Chromium, as a screen reader meets it: the error summary (focused as the page loads)
leads to where each refusal is mended, not only says it. The condition "every effort needs an organisation and
a named person responsible" leads to the efforts and marks, at its own field, what each effort lacks (the
summary lists and links those too); following a link to a part of the plan puts the focus on that part, as
the missing list's links do. What was typed is kept."""

from __future__ import annotations

from focus import focused
from playwright.sync_api import expect
from test_add_rows_focus_browser import log_in_by_keyboard
from test_browser import live_server  # noqa: F401  (the fixture shared with the other browser tests)
from test_plan_browser import invited_case, site  # noqa: F401

TYPED_GOAL = "att jag får sova ordentligt"
RULE = "Varje insats behöver en organisation och en namngiven ansvarig person."


def test_a_refused_plan_step_leads_to_the_efforts_and_marks_what_each_lacks(app, site, browser):  # noqa: F811
    case = invited_case(app)
    context = browser.new_context(locale="sv-SE", timezone_id="Europe/Stockholm")
    page = context.new_page()
    log_in_by_keyboard(page, site, "anna")
    # The meeting decides an effort for Arbetsförmedlingen: it comes into the plan with no person responsible.
    page.goto(f"{site}/cases/{case.uid}/meetings/outcome")
    page.locator("input[name=held_at]").fill(f"{case.meeting_day.isoformat()}T13:05")
    page.locator("[name='decisions-0-text']").fill("Kartläggning inför arbetsträning")
    page.locator("[name='decisions-0-owner']").select_option(f"organisation:{case.employment_service_id}")
    page.locator("[name='decisions-0-due_on']").fill("2030-01-15")
    page.locator("#outcome-form button[type=submit]:not([name])").click()
    expect(page.locator(".state-badge")).to_have_text("Möte hållet")

    page.goto(f"{site}/cases/{case.uid}/plan")
    # The missing list's link puts the focus on the part of the plan it names.
    page.get_by_role("link", name="En organisation måste ha huvudansvar.").focus()
    page.keyboard.press("Enter")
    assert focused(page, ".id") == "huvudansvar"

    page.locator("#own_goals-1-text").fill(TYPED_GOAL)
    page.get_by_role("button", name="Fastställ plan").focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")

    summary = page.locator("#error-summary")
    expect(summary).to_be_visible()
    assert focused(page, ".id") == "error-summary"
    rule = summary.get_by_role("link", name=RULE)
    expect(rule).to_have_attribute("href", "#efforts")
    lacks = summary.get_by_role("link", name="Insats 1, Ansvarig person: Skriv vem som är ansvarig.")
    expect(lacks).to_have_attribute("href", "#efforts-0-responsible")
    responsible = page.locator("#efforts-0-responsible")
    expect(responsible).to_have_attribute("aria-invalid", "true")
    expect(responsible).to_have_accessible_description("Skriv vem som är ansvarig.")
    expect(page.locator("#own_goals-1-text")).to_have_value(TYPED_GOAL)  # nothing typed is lost

    rule.focus()
    page.keyboard.press("Enter")
    assert focused(page, ".id") == "efforts"
    lacks.focus()
    page.keyboard.press("Enter")
    assert focused(page, ".id") == "efforts-0-responsible"
    page.keyboard.type("Omar Said")
    expect(responsible).to_have_value("Omar Said")
    context.close()
