"""The working plan read by an organisation that does not write it, in Chromium as a screen reader meets it:
only the rows the plan holds, not the blank rows left for typing nor the "Ta bort" boxes (disabled, every
one of them was read out as an empty, unavailable field, row after row), and a list with nothing in it says
so. The writer's page keeps both (test_add_rows_focus_browser, test_removed_rows_said_browser)."""

from __future__ import annotations

from playwright.sync_api import expect
from sqlmodel import select
from test_add_rows_focus_browser import log_in_by_keyboard
from test_browser import live_server  # noqa: F401  (the fixture shared with the other browser tests)

from sipflow.cases.models import SipCase
from sipflow.db import get_session

# Mikael's SIP: six goals of his own, none of the professionals', three efforts; Arbetsförmedlingen reads it.
REFERENCE = "SIP-DEMO-0002"


def test_a_reader_hears_the_plans_rows_not_blank_ones(app, live_server, browser):  # noqa: F811
    with app.app_context():
        uid = get_session().exec(select(SipCase.uid).where(SipCase.reference == REFERENCE)).one()
    context = browser.new_context(locale="sv-SE", timezone_id="Europe/Stockholm")
    page = context.new_page()
    log_in_by_keyboard(page, live_server, "omar")
    page.goto(f"{live_server}/cases/{uid}/plan")
    form = page.locator("#plan-form")
    expect(form.get_by_text("Din organisation får läsa planen", exact=False)).to_be_visible()

    expect(form.get_by_role("group", name="Personens mål 6", exact=True)).to_have_count(1)
    expect(form.get_by_role("group", name="Personens mål 7", exact=True)).to_have_count(0)
    expect(form.get_by_role("group", name="Insats 4", exact=True)).to_have_count(0)
    expect(form.get_by_role("group", name="De yrkesverksammas mål 1", exact=True)).to_have_count(0)
    expect(form.get_by_role("checkbox", name="Ta bort", exact=False)).to_have_count(0)
    # Every row shown holds something: no empty text field is read out.
    empty = form.locator("textarea[id$='-text'], textarea[id$='-what']").evaluate_all(
        "fields => fields.filter(f => f.value.trim() === '').map(f => f.id)"
    )
    assert empty == []
    professionals = form.get_by_role("heading", name="De yrkesverksammas mål", level=3)
    expect(professionals.locator("xpath=following-sibling::*[1]")).to_have_text("Inga")
    context.close()
