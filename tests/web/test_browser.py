"""One walk through the pages in a real browser: log in, start a SIP with Ny SIP, record consent."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import date

import pytest
from playwright.sync_api import expect
from support import seed_default_codes
from werkzeug.serving import make_server

from sipflow.db import get_session
from sipflow.demo import DEMO_PASSWORD, load_demo
from sipflow.i18n import compile_catalogues
from sipflow.people.identifiers import luhn_check_digit


@pytest.fixture
def live_server(app) -> Iterator[str]:
    """The session's app with the demo data, served on a free local port from a background thread."""
    compile_catalogues()
    # The demo's held meetings record the codes a real install records (the migrations' assignments, which an
    # earlier test in this worker emptied): whichever test comes first, the same codes.
    with app.app_context():
        seed_default_codes(get_session())
    with app.test_request_context():
        load_demo()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


def personnummer(birth: date, serial: int) -> str:
    nine = birth.strftime("%y%m%d") + f"{serial:03d}"
    return birth.strftime("%Y%m%d") + f"{serial:03d}" + str(luhn_check_digit(nine))


def test_start_a_sip_and_record_consent(live_server, browser, tmp_path):
    context = browser.new_context(locale="sv-SE", timezone_id="Europe/Stockholm")
    page = context.new_page()
    # The CSP forbids inline script and style; the console reports any that the pages would need.
    refused: list[str] = []
    page.on(
        "console",
        lambda message: refused.append(message.text) if "Content Security" in message.text else None,
    )
    pnr = personnummer(date(1994, 3, 8), 517)

    page.goto(f"{live_server}/login")
    page.get_by_label("Användarnamn").fill("anna")
    page.get_by_label("Lösenord").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Logga in").click()
    expect(page.get_by_role("heading", name="Att göra", exact=True)).to_be_visible()
    page.get_by_role("navigation").get_by_role("link", name="Mina SIP").click()
    expect(page.get_by_role("heading", name="Mina SIP")).to_be_visible()
    expect(page.locator(".who-unit")).to_contain_text("Vårdcentralen Teleborg, Region Kronoberg")

    page.get_by_role("link", name="Ny SIP").first.click()
    expect(page.get_by_role("heading", name="Ny SIP")).to_be_visible()
    page.get_by_label("Typ av SIP").select_option("sip")
    page.get_by_label("Identitetsnummer").fill(pnr)
    page.get_by_label("Förnamn").fill("Vera")
    page.get_by_label("Efternamn").fill("Lund")
    page.get_by_label("Folkbokföringskommun").select_option(label="Växjö")
    page.get_by_label("Socialtjänsten (IFO)").check()
    page.get_by_role("button", name="Starta SIP:en").click()

    expect(page.locator(".state-badge")).to_have_text("Initierad")
    expect(page.locator(".flash")).to_contain_text("är startad")
    assert "/cases/" in page.url and pnr not in page.url and pnr[2:] not in page.url
    expect(page.get_by_text(f"{pnr[:8]}-****")).to_be_visible()

    page.locator("summary", has_text="Registrera samtycke").first.click()
    consent = page.locator("form[action$='/transitions/give_consent']")
    consent.get_by_label("Skriftligt").check()
    expect(consent.get_by_label("Växjö kommun")).to_be_checked()
    consent.get_by_role("button", name="Registrera samtycke").click()

    expect(page.locator(".state-badge")).to_have_text("Samtycke givet")
    expect(page.locator(".flash")).to_contain_text("Registrera samtycke: sparat.")
    # Seen as "Initierad → Samtycke givet", heard as "från Initierad till Samtycke givet".
    expect(page.locator(".timeline")).to_contain_text("från Initierad → till Samtycke givet")
    arrow = page.locator(".timeline [aria-hidden=true]", has_text="→").first
    expect(arrow).to_be_visible()
    page.screenshot(path=str(tmp_path / "case.png"), full_page=True)
    assert not refused, refused
    context.close()
