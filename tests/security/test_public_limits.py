"""The public pages' rate limits (answer links, personal links, set-password links, the mail server's
replies) refuse in the visitor's language and say how long to wait; the mail server gets JSON."""

from __future__ import annotations

from webkit import text_of

ITIP_SECRET = "the-mail-servers-secret-of-enough-length"


def over_the_limit(client, address: str, times: int):
    """The last of times requests to address (the ones before it are under the limit)."""
    for _ in range(times - 1):
        assert client.get(address).status_code != 429
    return client.get(address)


def test_a_personal_link_over_its_limit_says_in_swedish_how_long_to_wait(client):
    response = over_the_limit(client, "/my-plan/not-a-token", 31)
    assert response.status_code == 429
    page = text_of(response)
    assert "För många förfrågningar" in page and "Försök igen om 1 minut." in page
    assert "per 1 minute" not in page
    assert 1 <= int(response.headers["Retry-After"]) <= 61  # a minute, give or take the clock's rounding
    assert response.headers["Content-Security-Policy"]  # the app's own page, with its headers


def test_the_refusal_speaks_english_when_the_visitor_chose_it(client):
    client.get("/login?lang=en")
    response = over_the_limit(client, "/set-password/not-a-token", 31)
    assert response.status_code == 429
    page = text_of(response)
    assert "Too many requests" in page and "Try again in" in page
    assert int(response.headers["Retry-After"]) <= 3601  # an hour, give or take rounding


def test_the_mail_server_over_the_limit_gets_json_with_a_reason(client, app):
    saved = app.config["ITIP_REPLY_SECRET"]
    app.config["ITIP_REPLY_SECRET"] = ITIP_SECRET
    try:
        for _ in range(60):
            client.post("/itip/reply", data=b"x", content_type="text/calendar")
        response = client.post("/itip/reply", data=b"x", content_type="text/calendar")
    finally:
        app.config["ITIP_REPLY_SECRET"] = saved
    assert response.status_code == 429
    assert response.get_json()["error"] == "too_many_requests"
    assert response.get_json()["reason"]
    assert 1 <= int(response.headers["Retry-After"]) <= 61  # a minute, give or take the clock's rounding
