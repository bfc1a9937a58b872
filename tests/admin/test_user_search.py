"""The users page's search: the start of a name, username or e-mail address, in the administrator's region."""

from __future__ import annotations

import html as html_lib
import re

import pytest
from webkit import csrf_token, login, spoken, text_of

from sipflow.admin import queries
from sipflow.people.models import Organisation, Unit

pytestmark = pytest.mark.usefixtures("frozen_clock")


@pytest.fixture
def as_admin(client, make_user, parties):
    """Logged in as Region Kronoberg's administrator (county 07)."""
    admin = make_user(parties.region, roles="admin", username="admin-{n}", display_name="Ada Admin")
    assert login(client, admin.username).status_code == 302
    return client


@pytest.fixture
def people(make_user, parties):
    """Users of the region whose names, usernames and addresses a search tells apart."""
    unit = parties.region
    return {
        "asa": make_user(
            unit, username="aober-{n}", display_name="Åsa Öberg", email="asa.oberg{n}@example.se"
        ),
        "orjan": make_user(
            unit, username="onaas-{n}", display_name="Örjan Nääs", email="orjan{n}@example.se"
        ),
        "bertil": make_user(
            unit, username="bsvens-{n}", display_name="Bertil Svensson", email="B.Svensson{n}@Ex.se"
        ),
        "percent": make_user(unit, username="rabatt_50%-{n}", display_name="Rabatt Konto", email=None),
    }


def _search(client, text: str, **extra):
    page = client.get("/admin/users")
    return client.post(
        "/admin/users/search", data={"csrf_token": csrf_token(text_of(page)), "search": text, **extra}
    )


def _listed(client, url: str = "/admin/users") -> str:
    return text_of(client.get(url))


@pytest.mark.parametrize(
    ("typed", "found", "not_found"),
    [
        ("åsa", "Åsa Öberg", "Örjan Nääs"),  # a name, whatever the case, letters outside ASCII too
        ("ÖRJAN N", "Örjan Nääs", "Åsa Öberg"),
        ("BSVENS", "Bertil Svensson", "Åsa Öberg"),  # a username
        ("b.svensson", "Bertil Svensson", "Rabatt Konto"),  # an address stored with capitals
        ("  asa.ob", "Åsa Öberg", "Bertil Svensson"),  # spaces around are not part of it
    ],
)
def test_the_search_finds_a_user_by_the_start_of_their_name_username_or_address(
    as_admin, people, typed, found, not_found
):
    response = _search(as_admin, typed)
    assert response.status_code == 302 and response.headers["Location"] == "/admin/users"
    page = _listed(as_admin)
    assert found in page and not_found not in page
    assert '<td class="mono">admin-' not in page  # the administrator's own row


@pytest.mark.parametrize(("typed", "found"), [("rabatt_50%", True), ("rabatt%", False), ("r_b", False)])
def test_percent_and_underscore_are_letters_not_wildcards(as_admin, people, typed, found):
    _search(as_admin, typed)
    page = _listed(as_admin)
    assert ("Rabatt Konto" in page) is found
    assert "Åsa Öberg" not in page and "Bertil Svensson" not in page
    if not found:
        assert "Ingen användare matchar sökningen." in page


def test_the_search_stays_out_of_the_address_and_is_kept_while_paging(
    as_admin, make_user, parties, monkeypatch
):
    users = [make_user(parties.region, username=f"sida{n}-{{n}}", display_name=f"Sida {n}") for n in range(3)]
    make_user(parties.region, username="annan-{n}", display_name="Annan Person")
    monkeypatch.setattr(queries, "USERS_PAGE", 2)
    _search(as_admin, "sida")
    first = as_admin.get("/admin/users")
    html = text_of(first)
    assert "Sida 0" in html and "Sida 1" in html and "Sida 2" not in html and "Annan Person" not in html
    assert f'href="/admin/users?after={users[1].id}&amp;page=2"' in html and "sida" not in first.request.url
    second = _listed(as_admin, f"/admin/users?after={users[1].id}")
    assert "Sida 2" in second and "Annan Person" not in second and "Sida 0" not in second
    assert 'value="sida"' in second  # the field shows the search on every page


def test_show_every_user_clears_the_search(as_admin, people):
    _search(as_admin, "åsa")
    assert "Bertil Svensson" not in _listed(as_admin)
    _search(as_admin, "", clear="1")
    page = _listed(as_admin)
    assert "Bertil Svensson" in page and "Åsa Öberg" in page


def test_a_region_administrator_finds_no_user_of_another_region(as_admin, db_session, make_user, people):
    organisation = Organisation(key="org-kalmar", name="Region Kalmar län", kind="region", county_code="08")
    db_session.add(organisation)
    db_session.flush()
    unit = Unit(key="unit-kalmar", organisation_id=organisation.id, name="Vårdcentralen Kalmar")
    db_session.add(unit)
    db_session.commit()
    make_user(unit, username="aoberg-kalmar-{n}", display_name="Åsa Östberg")
    _search(as_admin, "åsa")
    page = _listed(as_admin)
    assert "Åsa Öberg" in page and "Åsa Östberg" not in page


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("a" * (queries.USER_SEARCH_MAX + 1), f"Högst {queries.USER_SEARCH_MAX} tecken."),
        ("Åsa\x00Öberg", "Texten innehåller ett tecken som inte kan sparas."),
    ],
)
def test_a_refused_search_is_answered_beside_the_field_with_what_was_typed(as_admin, people, typed, message):
    _search(as_admin, "bertil")
    response = _search(as_admin, typed)
    assert response.status_code == 400
    page = text_of(response)
    assert message in page and 'aria-invalid="true"' in page
    assert f'value="{typed.replace(chr(0), "")}"' in page
    # The list is the one of the search before.
    assert "Bertil Svensson" in page and "Åsa Öberg" not in page


def _result_line(page: str) -> str:
    found = re.search(r'<p class="list-result" id="list-result"([^>]*)>(.*?)</p>', page, re.S)
    assert found is not None
    return found.group(1) + "|" + " ".join(html_lib.unescape(found.group(2)).split())


def test_the_list_says_the_search_and_what_it_found_with_the_focus_there(
    as_admin, make_user, parties, people, monkeypatch
):
    """A screen reader's user who searched lands on the line saying what the list now holds, not at the top of
    the page with nothing said; a refused search's error summary has the focus instead."""
    # No search and the first page: the line is there, the focus stays where a page starts.
    assert re.fullmatch(r"\|\d+ användare på den här sidan\.", _result_line(_listed(as_admin)))
    _search(as_admin, "åsa")
    assert _result_line(_listed(as_admin)) == (
        ' tabindex="-1" autofocus|Användare vars namn, användarnamn eller e-postadress börjar med ”åsa”. '
        "1 användare på den här sidan."
    )
    _search(as_admin, "zzz")
    assert _result_line(_listed(as_admin, "/admin/users?lang=en")) == (
        ' tabindex="-1" autofocus|Users whose name, username or e-mail address begins with “zzz”. '
        "No user matches the search."
    )
    _search(as_admin, "", clear="1")
    monkeypatch.setattr(queries, "USERS_PAGE", 2)
    first = _listed(as_admin, "/admin/users?lang=sv")
    assert _result_line(first) == "|2 användare på den här sidan. Fler på nästa sida."
    after = re.search(r'href="/admin/users\?after=(\d+)&amp;page=2"', first).group(1)
    second = _listed(as_admin, f"/admin/users?after={after}")
    assert _result_line(second).startswith(' tabindex="-1" autofocus|')
    refused = text_of(_search(as_admin, "a" * (queries.USER_SEARCH_MAX + 1)))
    assert '<div class="alert alert-error error-summary"' in refused and "<title>Fel: Användare" in refused
    assert f'<a href="#search">Sök användare: Högst {queries.USER_SEARCH_MAX} tecken.</a>' in refused
    assert refused.count("autofocus") == 1


def test_two_users_of_one_name_have_links_of_their_own(as_admin, make_user, parties):
    """A screen reader's list of links shows "Anna Andersson" twice, leading to two accounts, unless each link
    also says whose account: the username, visually hidden, as the next column shows it."""
    first = make_user(parties.region, username="aand1-{n}", display_name="Anna Andersson")
    second = make_user(parties.region, username="aand2-{n}", display_name="Anna Andersson")
    page = _listed(as_admin)
    names = {
        spoken(name)
        for user_id, name in re.findall(r'<a href="/admin/users/(\d+)">(.*?)</a>', page)
        if int(user_id) in (first.id, second.id)
    }
    assert names == {f"Anna Andersson ({first.username})", f"Anna Andersson ({second.username})"}
