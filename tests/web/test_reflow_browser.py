"""Reflow and resized text, measured in Chromium (WCAG 1.4.10 at 320 CSS pixels, 1.4.4 at 200 % text).

test_accessibility.py checks that no page scrolls sideways at 320 pixels; these check what a page can get
wrong without scrolling: a name squeezed into a column a few letters wide, a chart's frame narrowed by the
browser's own margins, a control whose text stays small when the user asks the browser for larger text.
"""

from __future__ import annotations

from playwright.sync_api import Page
from test_accessibility import NARROW, log_in, site  # noqa: F401  (the live server, links to it)
from test_browser import live_server  # noqa: F401
from test_stats_browser import kalmar_site  # noqa: F401  (held SIPs in Kalmar län, a coordinator)
from webkit import TEST_PASSWORD

KALMAR_FIRST_QUARTER = "/statistik/?county=08&from=2026-01-01&to=2026-03-31&by=municipality"

# Each word of the elements' text (three letters or more), whose pieces the browser put on more than one line.
BROKEN_WORDS = """
elements => elements.flatMap(element => {
  const broken = [];
  const walker = document.createTreeWalker(element, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    for (const word of node.data.matchAll(/\\S{3,}/g)) {
      const range = document.createRange();
      range.setStart(node, word.index);
      range.setEnd(node, word.index + word[0].length);
      const lines = new Set([...range.getClientRects()].filter(r => r.width > 0).map(r => Math.round(r.top)));
      if (lines.size > 1) broken.push(word[0]);
    }
  }
  return broken;
})
"""


def test_the_outcome_forms_names_keep_their_words_at_320_pixels(site, browser):  # noqa: F811
    """Each participant of the outcome form's attendance (and each relative asked about support) stands
    beside or above their select: squeezed beside it into a column 86 pixels wide, "Vårdcentralen" broke as
    "Vårdcentr / alen", "(närstående)" as "(närståen / de)", and the select cut "Ej registrerat" off."""
    context = browser.new_context(locale="sv-SE", timezone_id="Europe/Stockholm", viewport=NARROW)
    page = context.new_page()
    log_in(page, site, "anna")
    page.goto(f"{site}/cases")
    page.get_by_role("link", name="SIP-DEMO-0002").click()
    page.goto(page.url + "/meetings/outcome")
    rows = page.locator("#attendance .field, #carer_support .field")
    assert rows.count() >= 5
    broken = page.locator("#attendance .field label, #carer_support .field label").evaluate_all(BROKEN_WORDS)
    assert broken == [], f"names broken across lines: {broken}"
    for index in range(rows.count()):
        select = rows.nth(index).locator("select")
        # The chosen answer is shown whole: the select as wide as its longest choice.
        assert select.evaluate("s => s.scrollWidth <= s.clientWidth"), select.input_value()
        box, row = select.bounding_box(), rows.nth(index).bounding_box()
        assert box["x"] >= row["x"] and box["x"] + box["width"] <= row["x"] + row["width"] + 0.5
    context.close()


def coordinator_logs_in(page: Page, address: str) -> None:
    page.goto(f"{address}/login")
    page.get_by_label("Användarnamn").fill("kerstin-browser")
    page.get_by_label("Lösenord").fill(TEST_PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Logga in").click()


def test_the_statistics_charts_use_the_cards_width_at_320_pixels(kalmar_site, browser):  # noqa: F811
    """A chart's frame (which scrolls, the chart drawn at its own size) spans its card: inside the browser's
    own 40-pixel margins of a figure it was 158 pixels of the card's 238, showing the bar labels cut
    ("Uppvidin", "Tingsr") and no bar, and the chart's data table stuck out of the figure."""
    context = browser.new_context(locale="sv-SE", timezone_id="Europe/Stockholm", viewport=NARROW)
    page = context.new_page()
    coordinator_logs_in(page, kalmar_site)
    page.goto(kalmar_site + KALMAR_FIRST_QUARTER)
    cards = page.locator(".chart-card:has(figure)")
    assert cards.count() >= 1
    for index in range(cards.count()):
        card = cards.nth(index)
        inner = card.evaluate(
            "c => { const s = getComputedStyle(c); return c.clientWidth - parseFloat(s.paddingLeft)"
            " - parseFloat(s.paddingRight); }"
        )
        frame = card.locator(".chart-wrap").bounding_box()
        assert frame["width"] >= inner - 0.5, f"chart {index + 1}: a frame {frame['width']} px in {inner}"
        figure = card.locator("figure")
        assert figure.evaluate("f => f.scrollWidth <= f.clientWidth"), f"chart {index + 1} sticks out"
    context.close()
