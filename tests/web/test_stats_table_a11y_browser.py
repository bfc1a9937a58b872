"""The statistics page as a screen reader meets it in Chromium: each figure's row is named by its row
header (the municipality, or "Totalt"), and a refused filter is summed up above the page, as every refused
form is."""

from __future__ import annotations

from focus import focused
from playwright.sync_api import expect
from test_stats_browser import TIMEOUT, kalmar_site  # noqa: F401  (the fixture: held SIPs in Kalmar län)
from webkit import TEST_PASSWORD


def _coordinator_page(browser, site: str):
    context = browser.new_context(locale="sv-SE", timezone_id="Europe/Stockholm")
    context.set_default_timeout(TIMEOUT)
    page = context.new_page()
    page.goto(f"{site}/login")
    page.get_by_label("Användarnamn").fill("kerstin-browser")
    page.get_by_label("Lösenord").fill(TEST_PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Logga in").click()
    return context, page


def test_each_row_of_a_statistics_table_is_headed_by_what_it_counts(kalmar_site, browser):  # noqa: F811
    context, page = _coordinator_page(browser, kalmar_site)
    page.goto(f"{kalmar_site}/statistik/?county=08&from=2026-01-01&to=2026-03-31&by=municipality")
    table = page.locator("#table-meetings")
    expect(table.get_by_role("rowheader", name="Kalmar", exact=True)).to_have_count(1)
    expect(table.get_by_role("rowheader", name="Nybro", exact=True)).to_have_count(1)
    expect(table.get_by_role("rowheader", name="Totalt", exact=True)).to_have_count(1)
    # The row's figures stay cells, each under its column header.
    kalmar = table.get_by_role("row").filter(has=page.get_by_role("rowheader", name="Kalmar", exact=True))
    assert '- cell "8"' in kalmar.aria_snapshot()
    # By municipality and quarter, both label columns head the row; without breakdown, "Totalt" does.
    page.goto(f"{kalmar_site}/statistik/?county=08&from=2026-01-01&to=2026-03-31&by=municipality,quarter")
    row = page.locator("#table-meetings tbody tr", has_text="Kalmar").first
    assert [h.strip() for h in row.get_by_role("rowheader").all_text_contents()] == ["Kalmar", "2026 K1"]
    page.goto(f"{kalmar_site}/statistik/?county=08&from=2026-01-01&to=2026-03-31&by=")
    expect(page.locator("#table-meetings").get_by_role("rowheader", name="Totalt")).to_have_count(1)
    context.close()


def test_a_refused_filter_is_summed_up_and_its_link_leads_to_the_field(kalmar_site, browser):  # noqa: F811
    context, page = _coordinator_page(browser, kalmar_site)
    page.goto(f"{kalmar_site}/statistik/?from=2026-01-02&to=2026-03-31&by=nonsense&compare_years=99")
    summary = page.locator("#error-summary")
    expect(summary).to_be_visible()
    assert page.title().startswith("Fel: ")
    assert focused(page, ".id") == "error-summary"
    links = [text.strip() for text in summary.get_by_role("link").all_text_contents()]
    assert links[0].startswith("Från: ") and links[1].startswith("Uppdelning: ")
    assert links[2].startswith("Jämför med tidigare år: ") and len(links) == 3
    summary.get_by_role("link", name="Uppdelning", exact=False).click()
    assert focused(page, ".id") == "by"
    # Each error also stands beside its field, tied to it.
    expect(page.get_by_label("Uppdelning")).to_have_attribute("aria-describedby", "by-error")
    context.close()
