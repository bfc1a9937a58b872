"""Logging in, or changing the password, by keyboard and screen reader in English once too many attempts
failed: the page answers with the form again and a message that the attempts are paused and for how long.
That message has the focus as the page loads (an alert present at load is not read out), so the user hears
why nothing happened rather than a login page as before, and does not keep trying in vain."""

from __future__ import annotations

import pytest
from focus import focused
from test_browser import live_server  # noqa: F401  (the fixture shared with the other browser tests)

from sipflow.demo import DEMO_PASSWORD

NEW_PASSWORD = "a long new password for johan 2026"


def _send_by_keyboard(page, fields: list[tuple[str, str]], button: str) -> None:
    for name, value in fields:
        page.locator(f"#{name}").focus()
        page.keyboard.type(value)
    page.get_by_role("button", name=button).focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")


def _english(browser):
    context = browser.new_context(locale="en-GB", timezone_id="Europe/Stockholm")
    return context, context.new_page()


@pytest.fixture
def one_failure_a_minute(app, monkeypatch):
    """The second failure in a minute is refused, so a test need not fail five times."""
    monkeypatch.setitem(app.config, "LOGIN_LIMIT_PER_USERNAME", "1 per minute")


def test_the_paused_login_message_takes_the_focus(live_server, browser, one_failure_a_minute):  # noqa: F811
    context, page = _english(browser)
    for _attempt in range(2):
        page.goto(f"{live_server}/login?lang=en")
        _send_by_keyboard(page, [("username", "nobody-by-that-name"), ("password", "wrong")], "Log in")

    assert focused(page, ".matches('.alert[role=alert]')")
    assert "Too many failed login attempts" in focused(page, ".textContent")
    context.close()


def test_the_paused_password_change_message_takes_the_focus(live_server, browser, one_failure_a_minute):  # noqa: F811
    context, page = _english(browser)
    page.goto(f"{live_server}/login?lang=en")
    _send_by_keyboard(page, [("username", "johan"), ("password", DEMO_PASSWORD)], "Log in")
    for _attempt in range(2):
        page.goto(f"{live_server}/password")
        _send_by_keyboard(
            page,
            [
                ("current_password", "a wrong guess"),
                ("new_password", NEW_PASSWORD),
                ("new_password_again", NEW_PASSWORD),
            ],
            "Change password",
        )

    assert focused(page, ".matches('.alert[role=alert]')")
    assert "Too many wrong passwords" in focused(page, ".textContent")
    context.close()
