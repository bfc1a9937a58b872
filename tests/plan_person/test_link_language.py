"""The personal link goes out in its recipient's language, and the page it opens speaks it too."""

from __future__ import annotations

from personkit import log_out
from test_personal_links import link_path, queued, send_link
from webkit import text_of

from sipflow.cases.models import Participant
from sipflow.db import unit_of_work


def test_a_person_marked_english_gets_the_link_and_its_page_in_english(client, db_session, planned):
    with unit_of_work(db_session):
        db_session.get(Participant, planned.person_row.id).language = "en"
    send_link(client, planned, planned.person_row)
    log_out(client)
    row = queued(db_session)
    assert row.subject == "Your SIP plan"
    path = link_path(row)
    assert path.endswith("?lang=en")
    page = client.get(path)
    assert page.status_code == 200 and '<html lang="en">' in text_of(page)


def test_a_swedish_persons_link_has_no_language_in_it(client, db_session, planned):
    send_link(client, planned, planned.person_row)
    row = queued(db_session)
    assert row.subject == "Din SIP-plan" and "lang=" not in link_path(row)
