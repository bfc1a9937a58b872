"""Mina SIP as a screen reader says it: the pager's links say which page they lead to, the list says in words
what it shows (the page, its rows, the filters in force) and has the focus after filtering or paging, and a
refused filter is the page's error summary, which has the focus instead."""

from __future__ import annotations

import html as html_lib
import re

import pytest
import support
from webkit import csrf_token, login, spoken, text_of

from sipflow.cases.queries import PER_PAGE
from sipflow.people.models import Person

pytestmark = pytest.mark.usefixtures("frozen_clock")


@pytest.fixture
def as_region(client, parties):
    assert login(client, parties.region_user.username).status_code == 302
    return client


def link_named(html: str, rel: str) -> tuple[str, str]:
    """The address and the spoken name of the page's rel link."""
    found = re.search(rf'<a rel="{rel}" href="([^"]+)">(.*?)</a>', html)
    assert found is not None, rel
    return html_lib.unescape(found.group(1)), spoken(found.group(2))


def result_line(html: str) -> str:
    found = re.search(r'<p class="list-result" id="list-result"([^>]*)>(.*?)</p>', html, re.S)
    assert found is not None
    return found.group(1) + "|" + spoken(found.group(2))


def test_the_pager_links_say_next_or_previous_page_and_which(as_region, create_case):
    for _ in range(PER_PAGE + 1):
        create_case()
    first = text_of(as_region.get("/cases"))
    address, name = link_named(first, "next")
    assert name == "Nästa sida (sida 2)"
    assert 'aria-label="Sidor i Mina SIP"' in first
    second = text_of(as_region.get(address))
    assert link_named(second, "prev")[1] == "Föregående sida (sida 1)"
    english = text_of(as_region.get(address + "&lang=en"))
    assert link_named(english, "prev")[1] == "Previous page (page 1)"
    # The list itself says where the reader is and how much it holds, and the next page has the focus there.
    assert result_line(first) == "|Sida 1: 50 SIP. Fler på nästa sida."
    assert result_line(second) == ' tabindex="-1" autofocus|Sida 2: 1 SIP.'
    assert result_line(english) == ' tabindex="-1" autofocus|Page 2: 1 SIP.'


def test_the_list_says_the_filters_in_force_and_has_the_focus_after_filtering(
    as_region, db_session, registry, parties, create_case, now
):
    moved, _waiting = create_case(), create_case()
    support.fire(db_session, registry, parties.region_user, moved, "give_consent", now=now)
    page = text_of(as_region.get("/cases?state=consent_given&deadline="))
    assert result_line(page) == (' tabindex="-1" autofocus|Sida 1: 1 SIP. Filtrerat på Läge: Samtycke givet.')
    empty = text_of(as_region.get("/cases?state=consent_given&deadline=overdue"))
    assert result_line(empty) == (
        ' tabindex="-1" autofocus|Ingen SIP matchar filtret. '
        "Filtrerat på Läge: Samtycke givet; Tidsfrist: Försenad."
    )
    # The person filter, kept in the session and shown masked, is said with the others.
    person = db_session.get(Person, moved.person_id)
    as_region.post(
        "/person-filter",
        data={"csrf_token": csrf_token(page), "identifier": person.id_number, "state": "consent_given"},
    )
    line = result_line(text_of(as_region.get("/cases?state=consent_given")))
    assert line == (
        ' tabindex="-1" autofocus|Sida 1: 1 SIP. '
        f"Filtrerat på Läge: Samtycke givet; Person: {person.masked_identifier()}."
    )


def test_a_refused_filter_is_the_error_summary_which_takes_the_focus(as_region, create_case):
    create_case()
    response = as_region.get("/cases?state=avslutad")
    assert response.status_code == 400
    html = text_of(response)
    summary = re.search(r'<div class="alert alert-error error-summary"[^>]*autofocus.*?</div>', html, re.S)
    assert summary is not None
    line = '<a href="#filter-state">Läge: Ingen av de inlästa typerna av SIP har det här läget.'
    assert line in summary.group(0)
    assert "<title>Fel: Mina SIP" in html
    # Only the summary asks for the focus.
    assert html.count("autofocus") == 1
    page = text_of(as_region.get("/cases"))
    sent = {"csrf_token": csrf_token(page), "identifier": "123"}
    refused = text_of(as_region.post("/person-filter", data=sent))
    assert '<a href="#filter-person">Person (personnummer, samordningsnummer eller reservnummer): ' in refused
    assert refused.count("autofocus") == 1
