"""The answer page on a phone, by keyboard and screen reader: once the invitee sends their answer, the page's
message that it is saved has the focus as the page loads, so a screen reader reads it out (a role=status
region present at load is not announced) and they know the answer went through."""

from __future__ import annotations

from focus import focused
from playwright.sync_api import expect
from test_accessibility import links_from_the_mails, site  # noqa: F401  (the live server, links to it)
from test_browser import live_server  # noqa: F401

from sipflow.clock import now_utc

PHONE = {"width": 375, "height": 812}


def _on_a_phone(browser):
    """A phone's context (375x812, touch, Swedish, Stockholm time) and its page."""
    context = browser.new_context(
        locale="sv-SE", timezone_id="Europe/Stockholm", viewport=PHONE, is_mobile=True, has_touch=True
    )
    return context, context.new_page()


def test_the_saved_answer_takes_the_focus(app, site, browser):  # noqa: F811
    answer, _personal, _reference, _mailed = links_from_the_mails(app, now_utc(), 6)
    context, page = _on_a_phone(browser)
    page.goto(f"{site}/answer/{answer}")
    page.get_by_label("Ja, jag kommer").check()
    page.get_by_label("På plats").check()
    page.get_by_label("Kommentar (frivillig)").fill("Jag tar med min mamma.")
    page.get_by_role("button", name="Skicka svar").focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")

    message = page.get_by_role("status").filter(has_text="Tack, ditt svar är sparat")
    expect(message).to_be_visible()
    assert focused(page, ".matches('.alert[role=status]')")
    assert "Tack, ditt svar är sparat" in focused(page, ".textContent")
    context.close()


def test_the_saved_answer_is_named_as_the_invitee_chose_it(app, site, browser):  # noqa: F811
    """The invitee chose "Nej, jag kan inte komma": the page says that back, then and when the link is opened
    again, not the staff's word for it ("Accepterat", "Tackat nej")."""
    answer, _personal, _reference, _mailed = links_from_the_mails(app, now_utc(), 6)
    context, page = _on_a_phone(browser)
    page.goto(f"{site}/answer/{answer}")
    page.get_by_label("Nej, jag kan inte komma").check()
    with page.expect_navigation():
        page.get_by_role("button", name="Skicka svar").click()
    expect(page.get_by_role("status")).to_contain_text("Tack, ditt svar är sparat: Nej, jag kan inte komma.")

    page.goto(f"{site}/answer/{answer}")
    expect(page.get_by_text("Ditt svar hittills: Nej, jag kan inte komma.")).to_be_visible()
    context.close()


def test_a_tap_anywhere_on_an_answers_row_chooses_it(app, site, browser):  # noqa: F811
    """On a phone the radio button is 13 pixels and its label only as wide as its words: a thumb landing on
    the row beside "Kanske" chose nothing. The row's whole width is the answer's label."""
    answer, _personal, _reference, _mailed = links_from_the_mails(app, now_utc(), 6)
    context, page = _on_a_phone(browser)
    page.goto(f"{site}/answer/{answer}")
    for choice in ("Kanske", "Via telefon"):
        row = page.locator(".options li", has=page.get_by_label(choice, exact=True))
        box = row.bounding_box()
        page.touchscreen.tap(box["x"] + box["width"] * 0.8, box["y"] + box["height"] / 2)
        expect(page.get_by_label(choice, exact=True)).to_be_checked()
    context.close()
