"""The administration's lists page both ways, as Mina SIP does: a county's administrator with thousands of
users, units and log rows goes forward a few pages and back again by the pager (never only the browser's
Back, which loses the filter), the filter kept by both links, the same rows found again when rows were added
meanwhile, and the pager saying to a screen reader where each link leads."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import pytest
from sqlalchemy import insert
from webkit import csrf_token, login, text_of

from sipflow.admin import directory, queries
from sipflow.admin.changes import record_change
from sipflow.people.models import Unit, User

pytestmark = pytest.mark.usefixtures("frozen_clock")


@pytest.fixture
def admin(make_user):
    return make_user(None, roles="admin")


@pytest.fixture
def as_admin(client, admin):
    assert login(client, admin.username).status_code == 302
    return client


@pytest.fixture
def three_more_codes(db_session, now):
    """Three codes added to the catalogue for the test and taken out after it: the catalogue is kept
    between tests (support.KEPT_TABLES)."""
    from sqlalchemy import delete

    from sipflow.coding.models import CodeDefinition

    codes = [f"QQ{n:03d}" for n in range(3)]
    db_session.add_all(CodeDefinition(code=code, label=code, kind="sip", created_at=now) for code in codes)
    db_session.commit()
    yield codes
    db_session.rollback()
    db_session.execute(delete(CodeDefinition).where(CodeDefinition.code.in_(codes)))
    db_session.commit()


def _link(page: str, rel: str) -> str | None:
    """The pager's link rel (prev or next), as the browser follows it."""
    found = re.search(rf'<a rel="{rel}" href="([^"]+)"', page)
    return unescape(found.group(1)) if found else None


def _pager(page: str) -> str:
    found = re.search(r'<nav class="pager"[^>]*>.*?</nav>', page, re.S)
    assert found is not None, "no pager"
    return found.group(0)


def _said(page: str, moved: bool) -> str:
    """The line saying what the page of the list shows; it has the focus (the page's one autofocus) when a
    pager's link led here, none on the list as first opened."""
    found = re.search(r'<p class="list-result" id="list-result"( tabindex="-1" autofocus)?>([^<]*)</p>', page)
    assert found is not None, "nothing says which page this is"
    assert bool(found.group(1)) == moved, found.group(0)
    assert page.count("autofocus") == (1 if moved else 0)
    return found.group(2)


def _walk(client, start: str, shown, pages: int, *, searched: bool = False) -> list[list[str]]:
    """Follow the next links from start for pages pages, then the previous links back to the first: the
    rows shown on each page, forward then back. searched: the list's line has the focus on the first page
    too (the users page after a search)."""
    forward, url = [], start
    for number in range(1, pages + 1):
        page = text_of(client.get(url))
        said = _said(page, moved=number > 1 or searched)
        assert f"sida {number}: {len(shown(page))} rad" in said or "användare" in said, said
        forward.append(shown(page))
        pager = _pager(page)
        assert f'<span aria-current="page">Sida {number}</span>' in pager, pager
        if number < pages:
            url = _link(page, "next")
            assert url is not None, f"no next page after page {number}"
            assert f'Nästa sida<span class="visually-hidden"> (sida {number + 1})' in pager, pager
    back = [forward[-1]]
    for number in range(pages, 1, -1):
        assert f'Föregående sida<span class="visually-hidden"> (sida {number - 1})' in _pager(page)
        url = _link(page, "prev")
        page = text_of(client.get(url))
        _said(page, moved=True)
        back.append(shown(page))
    assert _link(page, "prev") is None  # the first page has no page before it
    return forward, list(reversed(back)), page


def test_the_users_page_goes_back_by_its_pager_keeping_the_search(as_admin, db_session, parties, monkeypatch):
    db_session.execute(
        insert(User),
        [
            {
                "username": f"katalog{n:03d}",
                "display_name": f"Katalog {n:03d}",
                "email": f"katalog{n:03d}@example.se",
                "password_hash": "!",
                "unit_id": parties.region.id,
                "session_token": f"katalog-token-{n}",
            }
            for n in range(25)
        ],
    )
    db_session.commit()
    monkeypatch.setattr(queries, "USERS_PAGE", 10)
    as_admin.post(
        "/admin/users/search",
        data={"search": "katalog", "csrf_token": csrf_token(text_of(as_admin.get("/admin/users")))},
    )

    def shown(page):
        return re.findall(r"katalog\d{3}(?=<)", page)

    forward, back, first = _walk(as_admin, "/admin/users", shown, 3, searched=True)
    assert [len(rows) for rows in forward] == [10, 10, 5]
    assert back == forward
    assert "Användare vars namn, användarnamn eller e-postadress börjar med" in first  # the search kept


def test_the_administration_log_goes_back_to_the_newer_changes_keeping_its_filter(
    as_admin, db_session, admin, now
):
    for n in range(2 * queries.LOG_PAGE + 5):
        record_change(
            db_session,
            actor_user_id=admin.id,
            action=f"unit.test{n:03d}",
            target_kind="unit",
            target_id=n + 1,
            now=now - timedelta(minutes=n),
        )
        record_change(
            db_session, actor_user_id=None, action="user.create", target_kind="user", target_id=n + 1, now=now
        )
    db_session.commit()

    def shown(page):
        assert "Användare skapad" not in page  # ?kind=unit kept on every page
        return re.findall(r"unit\.test\d{3}", page)

    forward, back, _first = _walk(as_admin, "/admin/log?kind=unit", shown, 3)
    assert forward[0][0] == "unit.test000" and forward[2][-1] == f"unit.test{2 * queries.LOG_PAGE + 4:03d}"
    assert back == forward


def test_the_units_of_one_organisation_go_back_keeping_the_organisation_and_the_same_rows(
    as_admin, db_session, make_unit, monkeypatch
):
    mine = make_unit("region", "Region Kronoberg", unit_name="Enhet 00")
    make_unit("region", "Region Kalmar", unit_name="Kalmarenheten")
    db_session.execute(
        insert(Unit),
        [
            {"key": f"enhet-{n:02d}", "organisation_id": mine.organisation_id, "name": f"Enhet {n:02d}"}
            for n in (1, 2, 3, 4, 5, 8, 9)
        ],
    )
    db_session.commit()
    monkeypatch.setattr(directory, "PAGE_SIZE", 3)

    def shown(page):
        assert "Kalmarenheten" not in page  # ?organisation= kept on every page
        return re.findall(r'<th scope="row">(Enhet \d{2})</th>', page)

    url = f"/admin/units?organisation={mine.organisation_id}"
    page = text_of(as_admin.get(url))
    second = text_of(as_admin.get(_link(page, "next")))
    assert shown(second) == ["Enhet 03", "Enhet 04", "Enhet 05"]
    # Another administrator adds units on both sides of the page meanwhile: going back shows the page
    # before this one as it is now, the new unit among it, and forward again this page's first row follows.
    db_session.execute(
        insert(Unit),
        [
            {"key": f"enhet-{n:02d}", "organisation_id": mine.organisation_id, "name": f"Enhet {n:02d}"}
            for n in (6, 7)
        ],
    )
    db_session.commit()
    previous = text_of(as_admin.get(_link(second, "prev")))
    assert shown(previous) == ["Enhet 00", "Enhet 01", "Enhet 02"]
    assert _link(previous, "prev") is None
    again = text_of(as_admin.get(_link(previous, "next")))
    assert shown(again) == ["Enhet 03", "Enhet 04", "Enhet 05"]
    third = text_of(as_admin.get(_link(again, "next")))
    assert shown(third) == ["Enhet 06", "Enhet 07", "Enhet 08"]


def test_the_organisations_go_back_by_their_pager(as_admin, make_unit, monkeypatch):
    for name in ["Echo", "Alfa", "Delta", "Bravo", "Cesam"]:
        make_unit("other", name)
    monkeypatch.setattr(directory, "PAGE_SIZE", 2)

    def shown(page):
        return re.findall(r'<th scope="row"><a href="[^"]*">(\w+)</a></th>', page)

    forward, back, _first = _walk(as_admin, "/admin/organisations", shown, 3)
    assert forward == [["Alfa", "Bravo"], ["Cesam", "Delta"], ["Echo"]]
    assert back == forward


def test_the_code_catalogue_and_the_units_codes_go_back_by_their_pager(
    as_admin, db_session, make_unit, monkeypatch, three_more_codes
):
    from sipflow.coding import queries as coding_queries

    for n in range(5):
        make_unit("other", f"Kodorganisation {n}", unit_name=f"Kodenhet {n}")
    db_session.commit()
    monkeypatch.setattr(coding_queries, "PAGE_SIZE", 2)

    def codes(page):
        return re.findall(r'<th scope="row" class="mono">(\w+)</th>', page)

    forward, back, _first = _walk(as_admin, "/admin/codes", codes, 3)
    assert all(len(rows) == 2 for rows in forward) and len({tuple(rows) for rows in forward}) == 3
    assert back == forward

    def units(page):
        return list(dict.fromkeys(re.findall(r"Kodenhet \d", page)))

    forward, back, _first = _walk(as_admin, "/admin/codes/assignments", units, 3)
    assert back == forward


def test_deactivating_from_a_later_page_comes_back_to_that_page_and_filter(
    as_admin, db_session, make_unit, monkeypatch
):
    """An administrator closing units one by one on page 2 of an organisation's units, or of every unit,
    came back to page 1 of the organisation's units after each button: their place and their filter lost."""
    from directorykit import post

    mine = make_unit("region", "Region Kronoberg", unit_name="Enhet 00")
    db_session.execute(
        insert(Unit),
        [
            {"key": f"enhet-{n:02d}", "organisation_id": mine.organisation_id, "name": f"Enhet {n:02d}"}
            for n in range(1, 8)
        ],
    )
    db_session.commit()
    monkeypatch.setattr(directory, "PAGE_SIZE", 3)

    def shown(page):
        return re.findall(r'<th scope="row">(Enhet \d{2})</th>', page)

    for start in (f"/admin/units?organisation={mine.organisation_id}", "/admin/units"):
        second_url = _link(text_of(as_admin.get(start)), "next")
        second = text_of(as_admin.get(second_url))
        assert shown(second) == ["Enhet 03", "Enhet 04", "Enhet 05"]
        for button in ("deactivate", "activate"):
            action = unescape(
                re.search(rf'<form method="post" action="([^"]*/{button}[^"]*)"', second).group(1)
            )
            response = post(as_admin, action)
            assert response.status_code == 302
            assert _place(response.headers["Location"]) == _place(second_url), (start, button)
            second = text_of(as_admin.get(response.headers["Location"]))
            assert shown(second) == ["Enhet 03", "Enhet 04", "Enhet 05"]

    for name in ["Echo", "Alfa", "Delta", "Bravo", "Cesam"]:
        make_unit("other", name)
    second_url = _link(text_of(as_admin.get("/admin/organisations")), "next")
    second = text_of(as_admin.get(second_url))
    action = unescape(re.search(r'<form method="post" action="([^"]*/deactivate[^"]*)"', second).group(1))
    assert _place(post(as_admin, action).headers["Location"]) == _place(second_url)


def _place(url: str) -> tuple[str, dict]:
    """A list's address as the page it shows: its path and its arguments, in any order."""
    from urllib.parse import parse_qs, urlsplit

    parts = urlsplit(url)
    return parts.path, parse_qs(parts.query)


def test_a_users_buttons_on_a_later_page_come_back_to_that_page(as_admin, db_session, parties, monkeypatch):
    """Disabling the leavers one by one on page 3 of a county's users led back to page 1 after each."""
    from directorykit import post

    db_session.execute(
        insert(User),
        [
            {
                "username": f"slutar{n:02d}",
                "display_name": f"Slutar {n:02d}",
                "email": f"slutar{n:02d}@example.se",
                "password_hash": "!",
                "unit_id": parties.region.id,
                "session_token": f"slutar-token-{n}",
            }
            for n in range(12)
        ],
    )
    db_session.commit()
    monkeypatch.setattr(queries, "USERS_PAGE", 4)
    second_url = _link(text_of(as_admin.get("/admin/users")), "next")
    second = text_of(as_admin.get(second_url))
    for button in ("disable", "enable", "sessions/end"):
        action = unescape(re.search(rf'<form method="post" action="([^"]*/{button}[^"]*)"', second).group(1))
        response = post(as_admin, action)
        assert _place(response.headers["Location"]) == _place(second_url), button
        second = text_of(as_admin.get(response.headers["Location"]))


def test_the_code_lists_buttons_come_back_to_their_page(
    as_admin, db_session, make_unit, monkeypatch, three_more_codes
):
    from directorykit import post

    from sipflow.coding import queries as coding_queries

    for n in range(5):
        make_unit("other", f"Kodorganisation {n}", unit_name=f"Kodenhet {n}")
    db_session.commit()
    monkeypatch.setattr(coding_queries, "PAGE_SIZE", 2)
    for start, button, data in (
        ("/admin/codes", "retire", {}),
        ("/admin/codes/assignments", "assignments", {"code": ""}),
    ):
        second_url = _link(text_of(as_admin.get(start)), "next")
        second = text_of(as_admin.get(second_url))
        forms = re.findall(rf'<form method="post" action="([^"]*{button}[^"]*)">(.*?)</form>', second, re.S)
        # A row's own form: one of the test's codes' Retire (the catalogue is kept between tests), a unit's
        # (not an organisation type's) SIP code.
        action, body = next(
            form
            for form in forms
            if "organisation_kind" not in form[1] and ("/QQ" in form[0] or button != "retire")
        )
        fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', body))
        fields.pop("csrf_token", None)
        response = post(as_admin, unescape(action), **fields, **data)
        assert response.status_code == 303, text_of(response)[:300]
        assert _place(response.headers["Location"]) == _place(second_url), start
