"""The keyboard in Chromium: a date or time field keeps its focus ring (WCAG 2.4.7) at every Tab stop inside
it, its calendar button too, where the field itself no longer matches :focus or :focus-visible."""

from __future__ import annotations

from test_add_rows_focus_browser import log_in_by_keyboard
from test_browser import live_server  # noqa: F401  (the fixture shared with the other browser tests)

STATE = """() => {
  const e = document.activeElement, style = getComputedStyle(e);
  return {id: e.id, focus: e.matches(':focus'), outline: style.outlineStyle, width: style.outlineWidth};
}"""


def test_every_tab_stop_of_a_datetime_field_shows_the_focus_ring(live_server, browser):  # noqa: F811
    context = browser.new_context(locale="sv-SE", timezone_id="Europe/Stockholm")
    page = context.new_page()
    log_in_by_keyboard(page, live_server, "anna")
    page.goto(f"{live_server}/cases/new")
    page.get_by_label("Typ av SIP").focus()
    stops = []
    for _ in range(12):
        page.keyboard.press("Tab")
        state = page.evaluate(STATE)
        if state["id"] != "utskrivningsklar_at":
            break
        stops.append(state)
    # The date, the hour and minute, and the calendar button (the one stop where the field is not :focus).
    assert len(stops) >= 4 and any(not stop["focus"] for stop in stops), stops
    for stop in stops:
        assert stop["outline"] == "solid" and stop["width"] == "3px", stops
    context.close()
