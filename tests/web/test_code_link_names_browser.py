"""The case page in Chromium: each meeting's link to correct its KVÅ codes names the meeting in its accessible
name, so a screen reader's list of the page's links tells one meeting's link from another's."""

from __future__ import annotations

import re

from playwright.sync_api import expect
from test_add_rows_focus_browser import open_by_keyboard
from test_browser import live_server  # noqa: F401  (the fixture shared with the other browser tests)

# Mikael's SIP: its first meeting held, the health-care unit's codes recorded.
REFERENCE = "SIP-DEMO-0002"


def test_the_link_to_reverse_a_meetings_codes_names_the_meeting(app, live_server, browser):  # noqa: F811
    context, page = open_by_keyboard(app, browser, live_server, REFERENCE)
    codes = page.get_by_role("region", name="KVÅ-koder")
    meeting = codes.locator("strong").first.inner_text()
    assert re.fullmatch(r"Första mötet, \d{4}-\d\d-\d\d", meeting), meeting
    link = codes.get_by_role("link", name=f"Registrerat i fel: makulera koderna ({meeting})", exact=True)
    expect(link).to_have_count(1)
    # Seen, the link says what it did: the meeting's name stands above it.
    expect(link).to_have_text(f"Registrerat i fel: makulera koderna ({meeting})")
    assert link.evaluate("a => a.querySelector('.visually-hidden').getBoundingClientRect().width") <= 1
    context.close()
