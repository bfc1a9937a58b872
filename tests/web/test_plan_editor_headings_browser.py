"""The plan editor in Chromium, as a screen reader's heading list shows it: every part of the long form is a
heading (its fieldset's legend), not only the goals; the levels nest: h1, the parts h2, the goal lists h3."""

from __future__ import annotations

from playwright.sync_api import expect
from test_add_rows_focus_browser import open_by_keyboard
from test_browser import live_server  # noqa: F401  (the fixture shared with the other browser tests)

REFERENCE = "SIP-DEMO-0002"
PARTS = [
    "Det som är viktigt för personen",
    "Insatser",
    "Det gör personen och närstående själva",
    "Insatser av andra",
    "Kontaktpersoner",
    "Uppföljning",
]


def test_every_part_of_the_plan_editor_is_a_heading(app, live_server, browser):  # noqa: F811
    context, page = open_by_keyboard(app, browser, live_server, REFERENCE, "/plan")
    form = page.locator("#plan-form")
    for name in PARTS:
        expect(form.get_by_role("heading", name=name, level=2, exact=True)).to_have_count(1)
        # Still the name of its group of fields.
        expect(form.get_by_role("group", name=name, exact=True)).to_have_count(1)
    for name in ("Personens egna mål", "De yrkesverksammas mål"):
        expect(form.get_by_role("heading", name=name, level=3, exact=True)).to_have_count(1)
    levels = (
        page.locator("main")
        .locator("h1, h2, h3, h4")
        .evaluate_all("headings => headings.map(h => Number(h.tagName[1]))")
    )
    assert levels[0] == 1 and all(b - a <= 1 for a, b in zip(levels, levels[1:], strict=False)), levels
    context.close()
