"""A coordinator in Chromium filters Kalmar län, first quarter, sees the chart and gets the XLSX."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect
from webkit import TEST_PASSWORD
from werkzeug.serving import make_server

from sipflow.i18n import compile_catalogues

# The statistics tests' builders of held, coded meetings (tests/stats is not on the path of tests/web alone).
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "stats"))
from statskit import World  # noqa: E402

KALMAR, NYBRO, VAXJO = "0880", "0881", "0780"
TIMEOUT = 10_000


@pytest.fixture
def kalmar_site(app, db_session, registry, make_unit, make_user, now) -> Iterator[str]:
    """Held SIPs in Kalmar län (and one in Växjö, one in April), a coordinator, the app on a free port."""
    world = World(db_session, app, registry, make_unit, make_user, now)
    for index in range(7):  # Kalmar: 7 persons, one of them with a follow-up too
        case = world.case(world.person(KALMAR))
        world.meeting(case, date(2026, 1, 12 + index), municipality=KALMAR, video=index < 2)
        if index == 0:
            world.meeting(case, date(2026, 3, 2), kind="follow_up", municipality=KALMAR)
    for index in range(5):  # Nybro: 5 persons
        world.meeting(world.case(world.person(NYBRO)), date(2026, 2, 3 + index), municipality=NYBRO)
    for municipality, held_on in ((VAXJO, date(2026, 2, 10)), (KALMAR, date(2026, 4, 8))):
        world.meeting(world.case(world.person(municipality)), held_on, municipality=municipality)
    db_session.commit()
    make_user(None, "coordinator", "kerstin-browser")
    compile_catalogues()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


def test_the_coordinator_filters_kalmar_first_quarter_and_downloads_the_xlsx(
    kalmar_site,
    browser,
    tmp_path,
):
    context = browser.new_context(locale="sv-SE", timezone_id="Europe/Stockholm", accept_downloads=True)
    context.set_default_timeout(TIMEOUT)
    page = context.new_page()
    # The CSP forbids inline script and style; the console reports any that the pages would need.
    refused: list[str] = []
    page.on(
        "console",
        lambda message: refused.append(message.text) if "Content Security" in message.text else None,
    )

    page.goto(f"{kalmar_site}/login")
    page.get_by_label("Användarnamn").fill("kerstin-browser")
    page.get_by_label("Lösenord").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Logga in").click()
    expect(page.get_by_role("heading", name="SIP-statistik", exact=True)).to_be_visible()
    assert page.url.endswith("/statistik/")

    page.locator("#county").select_option(label="Kalmar län")
    page.locator("#from").fill("2026-01-01")
    page.locator("#to").fill("2026-03-31")
    page.locator("#by").select_option("municipality")
    page.get_by_role("button", name="Visa", exact=True).click()
    assert "county=08" in page.url and "from=2026-01-01" in page.url and "to=2026-03-31" in page.url

    chart = page.locator("svg.chart").first
    expect(chart).to_be_visible()
    expect(chart.locator("title")).to_have_text("Antal SIP per kommun")
    table = page.locator("#table-meetings")
    expect(table).to_be_visible()
    headers = [text.strip() for text in table.locator("thead th").all_text_contents()]
    kalmar_row = table.locator("tbody tr", has_text="Kalmar")
    expect(kalmar_row).to_have_count(1)
    cells = [text.strip() for text in kalmar_row.locator("th, td").all_text_contents()]
    municipalities = [text.strip() for text in table.locator("tbody tr > :first-child").all_text_contents()]
    # Every municipality of Kalmar län is a row (0 where no SIP was held); Växjö (län 07) is not one.
    assert len(municipalities) == 12 and {"Kalmar", "Nybro"} <= set(municipalities)
    assert "Växjö" not in municipalities
    sips_column = headers.index("Antal SIP")
    shown_sips = cells[sips_column]
    assert shown_sips == "8"  # 7 first SIPs and a follow-up in the quarter; the April one is outside it
    page.screenshot(path=str(tmp_path / "statistik.png"), full_page=True)

    with page.expect_download() as download_info:
        page.locator("#download-xlsx").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".xlsx")
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    # The sheet is named by the table's title, as the page heads it.
    sheet = load_workbook(saved, read_only=True)["SIP-möten"]
    lines = [list(line) for line in sheet.iter_rows(values_only=True)]
    assert [str(label) for label in lines[0]] == headers
    kalmar_line = next(line for line in lines[1:] if line[0] == "Kalmar")
    assert str(kalmar_line[sips_column]) == shown_sips
    assert not refused, refused
    context.close()
