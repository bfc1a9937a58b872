"""The pages the person and a närstående open from their e-mails, in Chromium: the answer page says when as
the kallelse did (the weekday spelt out, not 2026-12-12 08:46), neither page offers a link to the staff
start page, which is a login they have none for, and the plan's PDF links say which plan they are of."""

from __future__ import annotations

import re
from datetime import timedelta

from playwright.sync_api import expect
from test_accessibility import _meeting_for_the_person, site  # noqa: F401  (the live server, links to it)
from test_browser import live_server  # noqa: F401

from sipflow.clock import now_utc
from sipflow.db import get_session, unit_of_work
from sipflow.meetings.messages import span_text
from sipflow.meetings.models import Invitation
from sipflow.meetings.tokens import make_answer_token
from sipflow.plans.models import PersonalLink
from sipflow.plans.personal_links import make_token

WEEKDAYS = "måndag|tisdag|onsdag|torsdag|fredag|lördag|söndag"


def test_the_answer_and_plan_pages_speak_as_the_mail_and_lead_to_no_login(app, site, browser):  # noqa: F811
    now = now_utc()
    with app.app_context():
        session = get_session()
        with unit_of_work(session):
            case, person, staff, meeting = _meeting_for_the_person(session, now, 9)
            invitation = Invitation(
                meeting_id=meeting.id, participant_id=person.id, email=person.email, invited_at=now
            )
            link = PersonalLink(
                person_id=case.person_id,
                case_id=case.id,
                participant_id=person.id,
                created_at=now,
                created_by_user_id=staff.id,
                expires_at=now + timedelta(days=30),
            )
            session.add_all([invitation, link])
        secret = app.config["SECRET_KEY"]
        answer = make_answer_token(secret, invitation.id, invitation.token_nonce, now + timedelta(days=10))
        personal = make_token(secret, link)
        mailed = span_text(meeting, "sv")
        reference = case.reference
    context = browser.new_context(locale="sv-SE", timezone_id="Europe/Stockholm")
    page = context.new_page()

    page.goto(f"{site}/answer/{answer}")
    time = page.locator("dt", has_text="Tid").locator("xpath=following-sibling::dd[1]")
    expect(time).to_have_text(mailed)
    assert re.fullmatch(rf"({WEEKDAYS}) \d+ \w+ \d{{4}} kl\. \d\d:\d\d–\d\d:\d\d", mailed)
    # The banner holds the language switch only; the name "sipflow" is no link to a login.
    banner_links = page.get_by_role("banner").get_by_role("link").all_text_contents()
    assert banner_links == ["Svenska", "English"]

    page.goto(f"{site}/my-plan/{personal}")
    expect(page.get_by_role("heading", name="Mina SIP-planer", level=1)).to_be_visible()
    assert page.get_by_role("banner").get_by_role("link").all_text_contents() == ["Svenska", "English"]
    assert page.locator('a[href="/"]').count() == 0
    # Each PDF link names its plan, as the plan's heading does: a person's several plans each have a pair.
    heading = page.locator(".person-plan h2").first.inner_text().strip()
    assert heading == f"SIP {reference}"
    for name in ("Planen som PDF", "Planen som PDF med stor text"):
        expect(page.get_by_role("link", name=f"{name} ({heading})", exact=True)).to_have_count(1)
    context.close()
