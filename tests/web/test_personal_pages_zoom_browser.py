"""The pages the person, a närstående or a guardian open from their e-mails, on a phone at 200 % zoom: a
window of 375 CSS pixels shows 188 of them. A long Swedish word of the plan ("arbetsförmedlingen" in the
person's own words) wraps within its card rather than pushing the page sideways; the plan's table of
efforts reads as a list, each cell under its effort with its column's name; each fact of the plan stands
under its label; the page, card and list margins shrink, so the person's own words get most of the width."""

from __future__ import annotations

from test_accessibility import links_from_the_mails, site  # noqa: F401  (the live server, links to it)
from test_browser import live_server  # noqa: F401

from sipflow.clock import now_utc

PHONE_AT_200_PERCENT = {"width": 188, "height": 406}


def test_the_answer_and_plan_pages_fit_a_phone_at_200_percent(app, site, browser):  # noqa: F811
    answer, personal, _reference, _mailed = links_from_the_mails(app, now_utc(), 8)
    context = browser.new_context(
        locale="sv-SE",
        timezone_id="Europe/Stockholm",
        viewport=PHONE_AT_200_PERCENT,
        is_mobile=True,
        has_touch=True,
    )
    page = context.new_page()
    for path in (f"/answer/{answer}", f"/my-plan/{personal}"):
        page.goto(site + path)
        page.get_by_role("heading", level=1).wait_for()
        # A phone's window widens to the page's content (innerWidth follows it): compare with the screen's.
        width = page.evaluate("document.documentElement.scrollWidth")
        window = PHONE_AT_200_PERCENT["width"]
        assert width <= window, f"{path.split('/')[1]}: {width} px wide in a window of {window}"
    # The plan's facts stand each value under its label, across the card: side by side, the value of
    # "Organisationen med huvudansvar" was a column a few letters wide, its words broken letter by letter.
    label = page.locator(".facts dt", has_text="Organisationen med huvudansvar").first
    value = label.locator("xpath=following-sibling::dd[1]")
    facts = page.locator(".facts").first.bounding_box()
    assert value.bounding_box()["y"] >= label.bounding_box()["y"] + label.bounding_box()["height"]
    assert value.bounding_box()["width"] >= 0.9 * facts["width"]
    # The person's own words get the width of the phone, not what the page's, the card's and the list's
    # desktop margins left of it: 66 of 188 pixels, five letters a line, "ordnin g" and "hemm a" split.
    window = PHONE_AT_200_PERCENT["width"]
    heading = page.get_by_role("heading", name="Det här är viktigt för mig")
    goal = heading.locator("xpath=following-sibling::ul[1]/li[1]").bounding_box()
    assert goal["width"] >= 0.6 * window, f"a goal of the person's is {goal['width']} px wide of {window}"
    card = page.locator(".facts").first.bounding_box()
    assert card["width"] >= 0.7 * window, f"the plan's card holds {card['width']} px of {window}"
    # Who does what: each effort's owner, time and status under its text, within the window. As four columns
    # the effort's own text was cut at the frame's edge ("alkoholvanorn") and the rest out of sight.
    effort = page.get_by_role("rowheader").first
    owner = effort.locator("xpath=following-sibling::td[1]")
    status = effort.locator("xpath=following-sibling::td[3]")
    for cell in (effort, owner, status):
        box = cell.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= window, f"{cell.inner_text()!r} is out of sight"
    assert owner.bounding_box()["y"] >= effort.bounding_box()["y"] + effort.bounding_box()["height"] - 1
    frame = page.locator(".table-wrap").filter(has=effort).first
    assert frame.evaluate("f => f.scrollWidth <= f.clientWidth")
    # Each value keeps its column's name beside it, as the header row (hidden there) gave it.
    assert owner.evaluate("c => getComputedStyle(c, '::before').content") == '"Vem ansvarar: "'
    context.close()
