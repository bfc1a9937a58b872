"""English is English: no msgid (the English text) says närstående, kallelse or initiativtagare; a Swedish
term kept in English only follows its English name in parentheses."""

from __future__ import annotations

import re

from test_i18n import FreshContextClient, extracted_messages
from webkit import TEST_PASSWORD

SWEDISH = re.compile(r"närstående|kallelse|initiativtagare|huvudansvar", re.I)


def test_no_english_text_uses_the_swedish_words():
    glossed = re.compile(r"\((huvudansvar)\)")  # "Overall responsibility (huvudansvar)"
    found = [m for m in extracted_messages() if SWEDISH.search(glossed.sub("", m))]
    assert not found, found


def test_the_new_case_page_says_initiator_in_english(app, parties):
    client = FreshContextClient(app, app.response_class, use_cookies=True)
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    client.post(
        "/login",
        data={"csrf_token": token, "username": parties.region_user.username, "password": TEST_PASSWORD},
    )
    english = client.get("/cases/new?lang=en").get_data(as_text=True)
    assert "Your unit starts it as initiator." in english and "initiativtagare" not in english
