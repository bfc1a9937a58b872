"""The answer page in English, by keyboard and screen reader: the meeting was moved while the invitee had the
page open, so the answer they send is not saved and the page comes back saying the meeting has changed. That
message has the focus as the page loads (an alert present at load is not read out), so they hear that nothing
was saved and check the new time, rather than landing at the top of a page that looks as before."""

from __future__ import annotations

from focus import focused
from playwright.sync_api import expect
from sqlmodel import select
from test_accessibility import links_from_the_mails, site  # noqa: F401  (the live server, links to it)
from test_browser import live_server  # noqa: F401

from sipflow.clock import now_utc
from sipflow.db import get_session, unit_of_work
from sipflow.meetings.models import Invitation, Meeting
from sipflow.meetings.tokens import read_answer_token


def _move_meeting_meanwhile(app, answer: str) -> None:
    """What a move does to the invitation the page was opened for: the meeting and the invitation a version
    on, so the version the page carries is an older one."""
    with app.app_context():
        invitation_id = read_answer_token(app.config["SECRET_KEY"], answer, now=now_utc()).invitation_id
        session = get_session()
        with unit_of_work(session):
            invitation = session.exec(select(Invitation).where(Invitation.id == invitation_id)).one()
            meeting = session.get(Meeting, invitation.meeting_id)
            meeting.sequence += 1
            invitation.sequence = meeting.sequence


def test_the_meeting_changed_message_takes_the_focus(app, site, browser):  # noqa: F811
    answer, _personal, _reference, _mailed = links_from_the_mails(app, now_utc(), 8)
    context = browser.new_context(locale="en-GB", timezone_id="Europe/Stockholm")
    page = context.new_page()
    page.goto(f"{site}/answer/{answer}?lang=en")
    page.get_by_role("radio").first.focus()
    page.keyboard.press("Space")
    _move_meeting_meanwhile(app, answer)
    page.get_by_role("button", name="Send answer").focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")

    message = page.get_by_role("alert").filter(has_text="The meeting has changed since you opened this page")
    expect(message).to_be_visible()
    assert focused(page, ".matches('.alert[role=alert]')")
    assert "nothing is saved yet" in focused(page, ".textContent")
    context.close()
