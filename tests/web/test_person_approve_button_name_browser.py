"""The person's plan page in Chromium, by the keyboard: the approve button names the plan it approves, as the
PDF links beside it do (a person with several SIPs has one per plan, and a screen reader's list of buttons
read "Jag godkänner planen" once per plan, with nothing to tell them apart), and once pressed the page's
thanks has the focus, so it is read out."""

from __future__ import annotations

from focus import focused
from playwright.sync_api import expect
from sqlmodel import delete
from test_accessibility import links_from_the_mails, site  # noqa: F401  (the live server, links to it)
from test_browser import live_server  # noqa: F401

from sipflow.clock import now_utc
from sipflow.db import get_session, unit_of_work
from sipflow.plans.models import PlanApproval


def test_the_approve_button_names_its_plan(app, site, browser):  # noqa: F811
    _answer, personal, reference, _mailed = links_from_the_mails(app, now_utc(), 9)
    with app.app_context():
        session = get_session()
        with unit_of_work(session):  # the demo's person approved at the meeting: not yet, here
            session.exec(delete(PlanApproval).where(PlanApproval.party == "person"))
    context = browser.new_context(locale="sv-SE", timezone_id="Europe/Stockholm")
    page = context.new_page()
    page.goto(f"{site}/my-plan/{personal}")
    heading = page.locator(".person-plan h2").first.inner_text().strip()
    assert heading == f"SIP {reference}"
    button = page.get_by_role("button", name=f"Jag godkänner planen ({heading})", exact=True)
    expect(button).to_have_count(1)
    expect(button.locator(".visually-hidden")).to_have_text(f" ({heading})")  # seen as before
    button.focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    thanks = page.get_by_role("status").filter(has_text="Ditt godkännande av version 1")
    expect(thanks).to_be_visible()
    assert focused(page, ".matches('.flash[role=status]')")
    context.close()
