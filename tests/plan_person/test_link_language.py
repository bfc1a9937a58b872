"""The personal link goes out in its recipient's language, and the page it opens speaks it too."""

from __future__ import annotations

from personkit import log_out
from test_personal_links import link_path, queued, send_link
from webkit import csrf_token, text_of

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


def test_after_a_refused_approval_the_language_switch_leads_back_to_the_plans(client, db_session, planned):
    send_link(client, planned, planned.person_row)
    log_out(client)
    path = link_path(queued(db_session))
    page = client.get(path)
    refused = client.post(path + "/approve", data={"csrf_token": csrf_token(text_of(page))})
    assert refused.status_code == 400
    html = text_of(refused)
    start = html.index('hreflang="en"')
    href = html.rindex('href="', 0, start) + len('href="')
    english = client.get(html[href : html.index('"', href)].replace("&amp;", "&"))
    assert english.status_code == 200 and '<html lang="en">' in text_of(english)
