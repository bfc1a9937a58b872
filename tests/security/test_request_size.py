"""A request body is bounded before anything reads it: one anonymous POST of gigabytes is never read in full
(Werkzeug reads a urlencoded body into memory, a multipart file onto disk, as soon as the CSRF check reads
the form); the uploads and the mail server's replies still get the room they need, and their own answers."""

from __future__ import annotations

import io

from webkit import csrf_token, login, text_of

from sipflow.admin import imports
from sipflow.meetings.replies import MAIL_MAX_BYTES

# More than any form of the app takes (the largest upload, a directory import, is 2 MB).
TOO_LARGE = 5 * 1024 * 1024
ITIP_SECRET = "the-mail-servers-secret-of-enough-length"


def test_an_anonymous_urlencoded_body_too_large_for_any_form_is_refused_unread(client):
    token = csrf_token(text_of(client.get("/login")))
    body = f"csrf_token={token}&username=anna&password=".encode() + b"x" * TOO_LARGE
    response = client.post("/login", data=body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 413
    page = text_of(response)
    assert "Förfrågan är för stor" in page and "inget sparades" in page


def test_an_anonymous_multipart_file_too_large_for_any_form_is_refused(client):
    response = client.post(
        "/login",
        data={"username": "anna", "file": (io.BytesIO(b"x" * TOO_LARGE), "big.bin")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 413
    assert response.headers["Content-Security-Policy"]  # the app's own page, with its headers


def test_the_refusal_speaks_english_when_asked(client):
    response = client.post(
        "/login?lang=en", data=b"x" * TOO_LARGE, content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 413
    assert "The request is too large" in text_of(response)


def test_a_directory_import_just_over_its_limit_still_gets_its_own_message(client, make_user):
    admin = make_user(None, roles="admin")
    login(client, admin.username)
    response = client.post(
        "/admin/import",
        data={
            "csrf_token": csrf_token(text_of(client.get("/admin/import"))),
            "file": (io.BytesIO(b"x" * (imports.MAX_BYTES + 10)), "county.csv"),
            "dry_run": "1",
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    assert "Förfrågan är för stor" not in text_of(response)


def test_the_mail_server_may_post_a_mail_larger_than_a_form(client, app):
    saved = app.config["ITIP_REPLY_SECRET"]
    app.config["ITIP_REPLY_SECRET"] = ITIP_SECRET
    try:
        headers = {"Authorization": f"Bearer {ITIP_SECRET}"}
        mail = b"Subject: a large mail\r\n\r\n" + b"x" * TOO_LARGE
        taken = client.post("/itip/reply", data=mail, content_type="message/rfc822", headers=headers)
        assert taken.status_code != 413
        assert taken.is_json
        over = b"x" * (MAIL_MAX_BYTES + 1)
        refused = client.post("/itip/reply", data=over, content_type="text/calendar", headers=headers)
        assert refused.status_code == 413
        assert refused.get_json()["error"] == "too_large"
    finally:
        app.config["ITIP_REPLY_SECRET"] = saved
