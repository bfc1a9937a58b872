"""Reflow and resized text, measured in Chromium (WCAG 1.4.10 at 320 CSS pixels, 1.4.4 at 200 % text).

test_accessibility.py checks that no page scrolls sideways at 320 pixels; these check what a page can get
wrong without scrolling: a name squeezed into a column a few letters wide, a code broken in its cell, a
chart's frame narrowed by the browser's own margins, a control whose text stays small when the user asks
the browser for larger text, and controls so close that the focus ring of one lies over the next.
"""

from __future__ import annotations

from playwright.sync_api import Page
from test_accessibility import (  # noqa: F401  (site: the live server, links to it)
    NARROW,
    links_from_the_mails,
    log_in,
    site,
)
from test_browser import live_server  # noqa: F401
from test_stats_browser import kalmar_site  # noqa: F401  (held SIPs in Kalmar län, a coordinator)
from webkit import TEST_PASSWORD

from sipflow.clock import now_utc

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
    beside or above their select, inside its row: squeezed beside it into a column 86 pixels wide,
    "Vårdcentralen" broke as "Vårdcentr / alen" and "(närstående)" as "(närståen / de)"."""
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
        box, row = rows.nth(index).locator("select").bounding_box(), rows.nth(index).bounding_box()
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


# The font size of each control that shows text (buttons, fields, selects, links), visible, in the page.
CONTROL_SIZES = """
() => [...document.querySelectorAll('button, select, textarea, a[href], input:not([type=hidden], '
    + '[type=checkbox], [type=radio])')]
  .filter(e => e.checkVisibility())
  .map(e => [e.outerHTML.slice(0, 80), parseFloat(getComputedStyle(e).fontSize)])
"""


def controls_that_keep_their_size(page: Page) -> list[str]:
    """The controls whose text stays as it was when the user doubles the browser's text size (the root's
    font size, which a browser's "font size" setting sets): WCAG 1.4.4 asks 200 % without loss."""
    before = page.evaluate(CONTROL_SIZES)
    page.evaluate("document.documentElement.style.fontSize = '200%'")
    after = page.evaluate(CONTROL_SIZES)
    page.evaluate("document.documentElement.style.fontSize = ''")
    assert len(before) == len(after) > 0
    return [
        f"{page.url}: {html} {size}px -> {larger}px"
        for (html, size), (_same, larger) in zip(before, after, strict=True)
        if larger < 1.9 * size
    ]


def test_every_control_grows_with_the_text_at_200_percent(app, site, browser):  # noqa: F811
    """The statistics form's "Visa" was a bare <button>: the browser's own 13.3 pixels, whatever text size
    the user chose, beside fields twice as large. Each user's pages: the person's from their mails, staff's
    (login, Att göra, Mina SIP, the case page, booking, the plan editor, the outcome form), the
    coordinator's statistics and the administrator's users."""
    answer, personal, reference, _mailed = links_from_the_mails(app, now_utc(), 8)
    context = browser.new_context(locale="sv-SE", timezone_id="Europe/Stockholm")
    page = context.new_page()
    problems: list[str] = []
    for path in (f"/answer/{answer}", f"/my-plan/{personal}", "/login"):
        page.goto(site + path)
        problems += controls_that_keep_their_size(page)
    log_in(page, site, "anna")
    page.goto(f"{site}/cases")
    page.get_by_role("link", name=reference).click()
    case = page.url
    for address in (f"{site}/", f"{site}/cases", case, f"{case}/meetings/new", f"{case}/plan"):
        page.goto(address)
        problems += controls_that_keep_their_size(page)
    page.goto(f"{case}/meetings/outcome")
    problems += controls_that_keep_their_size(page)
    for username, path in (("kerstin", "/statistik/"), ("admin", "/admin/users")):
        log_in(page, site, username)
        page.goto(site + path)
        problems += controls_that_keep_their_size(page)
    assert problems == [], "\n".join(problems)
    context.close()


def test_codes_and_keys_in_the_administrators_tables_stay_whole_at_320_pixels(site, browser):  # noqa: F811
    """A cell that is a code or a key (KVÅ codes, organisation and unit keys, usernames) keeps it on one
    line, the table's frame scrolling instead: squeezed to the frame, "AU124" read "AU1 / 24", and
    "arbetsformedlingen" broke in three."""
    context = browser.new_context(locale="sv-SE", timezone_id="Europe/Stockholm", viewport=NARROW)
    page = context.new_page()
    log_in(page, site, "admin")
    broken: list[str] = []
    for path in ("/admin/codes", "/admin/organisations", "/admin/units", "/admin/users"):
        page.goto(site + path)
        cells = page.locator("main td.mono, main th.mono")
        assert cells.count() >= 1, path
        broken += [f"{path}: {word}" for word in cells.evaluate_all(BROKEN_WORDS)]
    assert broken == [], f"codes broken across lines: {broken}"
    context.close()


# The controls of the elements given whose box, grown by the focus ring (the outline's offset and width: 6 px
# out), crosses another control or another control's label: [(the control, the other)].
RINGS_OVER_NEIGHBOURS = """
containers => {
  const shown = containers.flatMap(c => [...c.querySelectorAll('label, select, input, button')])
    .filter(e => e.checkVisibility());
  const boxes = shown.map(e => ({name: e.id || e.textContent.trim(), ring: e.matches('label') ? 0 : 6,
                                 box: e.getBoundingClientRect(), own: e.htmlFor}));
  const crossing = [];
  for (const one of boxes.filter(b => b.ring)) {
    // A control's ring may reach its own label's line above it, as every form's does: not a neighbour.
    for (const other of boxes.filter(b => b !== one && b.own !== one.name)) {
      const [a, b, ring] = [one.box, other.box, one.ring];
      const wide = Math.min(a.right + ring, b.right) - Math.max(a.left - ring, b.left);
      const high = Math.min(a.bottom + ring, b.bottom) - Math.max(a.top - ring, b.top);
      if (wide > 0.5 && high > 0.5) crossing.push([one.name, other.name]);
    }
  }
  return crossing;
}
"""


def test_mina_sips_filters_leave_room_for_the_focus_ring_at_320_pixels(site, browser):  # noqa: F811
    """Mina SIP's filter forms had no style of their own: each label, select and button stacked flush
    against the next, so "Filtrera"'s focus ring lay over the deadline select above it and the label
    below it. Each field now stands apart, its label over its control."""
    context = browser.new_context(locale="sv-SE", timezone_id="Europe/Stockholm", viewport=NARROW)
    page = context.new_page()
    log_in(page, site, "anna")
    page.goto(f"{site}/cases")
    filters = page.locator(".list-filters form")
    assert filters.count() == 2
    crossing = filters.evaluate_all(RINGS_OVER_NEIGHBOURS)
    assert crossing == [], f"a focus ring over a neighbour: {crossing}"
    for label in ("Läge", "Tidsfrist"):
        field = page.get_by_label(label).bounding_box()
        name = filters.locator("label", has_text=label).bounding_box()
        assert name["y"] + name["height"] <= field["y"] + 0.5
    context.close()


def test_a_forms_buttons_leave_room_for_the_focus_ring(site, browser):  # noqa: F811
    """The buttons of a form's actions (Spara, Lägg till fler rader, Tillbaka) stood a space's width apart
    (4 px) side by side and flush when wrapped at 320 px: the focus ring (6 px out) of one lay over the
    next. On the outcome form, the plan editor and the booking form, wide and at 320 px."""
    crossing: list[str] = []
    for viewport in ({"width": 1280, "height": 800}, NARROW):
        context = browser.new_context(locale="sv-SE", timezone_id="Europe/Stockholm", viewport=viewport)
        page = context.new_page()
        log_in(page, site, "anna")
        page.goto(f"{site}/cases")
        page.get_by_role("link", name="SIP-DEMO-0002").click()
        case = page.url
        for path in ("/meetings/outcome", "/plan", "/meetings/new"):
            page.goto(case + path)
            actions = page.locator("main .form-actions").filter(has=page.locator("button + *"))
            assert actions.count() >= 1, path
            crossing += [
                f"{viewport['width']} px {path}: {pair}"
                for pair in actions.evaluate_all(RINGS_OVER_NEIGHBOURS)
            ]
        context.close()
    assert crossing == [], "\n".join(crossing)


def test_the_administrators_controls_leave_room_for_the_focus_ring_at_320_pixels(site, browser):  # noqa: F811
    """The users list's "Stäng av" and "Avsluta alla sessioner" (two forms in one cell) stood flush one over
    the other, as did each code assignment's select and its "Spara", the log's select and "Filtrera", a
    user's "Spara" and "Skicka en länk för att välja nytt lösenord", and the import's two buttons (a space
    apart): the focus ring of one lay over the other."""
    context = browser.new_context(locale="sv-SE", timezone_id="Europe/Stockholm", viewport=NARROW)
    page = context.new_page()
    log_in(page, site, "admin")
    page.goto(f"{site}/admin/users")
    user = page.get_by_role("link", name="Anna Lind").get_attribute("href")
    crossing: list[str] = []
    for path in ("/admin/users", "/admin/codes/assignments", "/admin/log", user, "/admin/import"):
        page.goto(site + path)
        forms = page.locator("main form")
        assert forms.count() >= 1, path
        crossing += [f"{path}: {pair}" for pair in forms.evaluate_all(RINGS_OVER_NEIGHBOURS)]
    assert crossing == [], "\n".join(crossing)
    context.close()
