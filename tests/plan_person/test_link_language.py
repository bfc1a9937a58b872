"""The personal link goes out in its recipient's language, and the page it opens speaks it too."""

from __future__ import annotations

from personkit import freeze, log_out
from sqlmodel import select
from test_personal_links import link_path, queued, send_link
from webkit import FreshContextClient, csrf_token, text_of

from sipflow.cases.models import Participant
from sipflow.clock import now_utc
from sipflow.db import unit_of_work
from sipflow.plans.models import PersonalLink
from sipflow.plans.personal_links import revoke_link
from sipflow.plans.services import working_plan


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


def _recipients_browser(client) -> FreshContextClient:
    """The recipient's own browser: no session, so no language chosen in it."""
    return FreshContextClient(client.application, client.application.response_class, use_cookies=True)


def _set_language(db_session, participant, language: str) -> None:
    with unit_of_work(db_session):
        db_session.get(Participant, participant.id).language = language


def _revoke(db_session, world) -> None:
    link = db_session.exec(select(PersonalLink)).one()
    with unit_of_work(db_session):
        revoke_link(db_session, case=world.case, link_id=link.id, actor=world.region.user, now=now_utc())


def test_a_revoked_link_of_an_english_recipient_is_refused_in_english_unless_the_request_asks(
    client, db_session, planned
):
    _set_language(db_session, planned.person_row, "en")
    send_link(client, planned, planned.person_row)
    bare = link_path(queued(db_session)).partition("?")[0]
    _revoke(db_session, planned)

    refused = _recipients_browser(client).get(bare)
    assert refused.status_code == 410
    assert '<html lang="en">' in text_of(refused) and "The link no longer works" in text_of(refused)
    asked = _recipients_browser(client).get(bare + "?lang=sv")
    assert asked.status_code == 410 and "Länken fungerar inte längre" in text_of(asked)


def test_a_link_sent_before_the_recipient_turned_english_opens_and_expires_in_english(
    client, db_session, planned, frozen_clock
):
    send_link(client, planned, planned.person_row)
    path = link_path(queued(db_session))
    assert "lang=" not in path
    _set_language(db_session, planned.person_row, "en")
    browser = _recipients_browser(client)

    page = browser.get(path)
    assert page.status_code == 200 and '<html lang="en">' in text_of(page)
    frozen_clock.set(db_session.exec(select(PersonalLink)).one().expires_at)
    expired = browser.get(path)
    assert expired.status_code == 410
    assert '<html lang="en">' in text_of(expired) and "The link has expired" in text_of(expired)


def test_the_english_page_says_its_pdfs_are_in_swedish_and_the_swedish_page_is_unchanged(
    client, db_session, planned
):
    send_link(client, planned, planned.person_row)
    log_out(client)
    path = link_path(queued(db_session))
    english = text_of(client.get(path + "?lang=en"))
    links = english.index("The plan as PDF in large type")
    assert "The document is in Swedish." in english[links : english.index("</p>", links)]
    swedish = text_of(client.get(path + "?lang=sv"))
    assert "Planen som PDF" in swedish
    assert "Dokumentet är på svenska" not in swedish and "The document is in Swedish" not in swedish


def _languages_of(html: str, text: str) -> list[str]:
    """The lang of each element around the first element whose own text holds text, innermost first."""
    from test_accessible_names import parse

    def find(node):
        for child in node.children:
            if isinstance(child, str) and text in child:
                return node
            if not isinstance(child, str) and (found := find(child)) is not None:
                return found
        return None

    node, languages = find(parse(html)), []
    while node is not None:
        if "lang" in node.attrs:
            languages.append(node.attrs["lang"])
        node = node.parent
    return languages


def test_the_plans_swedish_text_is_marked_swedish_on_the_english_page(client, db_session, planned):
    """WCAG 3.1.2: on the English page the plan's own words (a goal, an effort, who does it) are Swedish, as
    staff and the person wrote them, and so is the term "fast vårdkontakt" the page keeps; marked so, a
    screen reader says them in Swedish, not with English sounds. The page's own English around them stays
    English, and the Swedish page marks nothing."""
    _set_language(db_session, planned.person_row, "en")
    with unit_of_work(db_session):  # a version naming the fast vårdkontakt, a term the English page keeps
        working_plan(db_session, planned.case).fast_vardkontakt = "Eva Ek, Vårdcentralen"
    freeze(db_session, planned, now=now_utc())
    send_link(client, planned, planned.person_row)
    log_out(client)
    english = text_of(client.get(link_path(queued(db_session))))
    fact = '<dt><span lang="sv">Fast vårdkontakt</span></dt><dd lang="sv">Eva Ek, Vårdcentralen</dd>'
    assert fact in english
    goal = "Det är viktigt för mig att ha ett arbete"
    for written in (goal, "Samtalsstöd varannan vecka", "Kim Handläggare"):
        assert _languages_of(english, written)[:1] == ["sv"], written
    assert _languages_of(english, "Who does what")[:1] == ["en"]
    bare = link_path(queued(db_session)).partition("?")[0]
    swedish = text_of(_recipients_browser(client).get(bare + "?lang=sv"))
    assert _languages_of(swedish, "Samtalsstöd varannan vecka") == ["sv"]  # the page's own, nothing more
