"""The administration's words: one refusal of an e-mail address everywhere, the menu, the way back from an
error page, the stale-edit notice, and the set-password page in the user's language."""

from __future__ import annotations

import re

import pytest
from directorykit import post
from userkit import body_of, link_path, outbox
from webkit import FreshContextClient, beside_fields, fill, forms_of, login, text_of

from sipflow.admin.users import invite_user
from sipflow.db import unit_of_work

pytestmark = pytest.mark.usefixtures("frozen_clock")

EMAIL_REFUSAL = "Skriv en e-postadress, till exempel namn@example.se."


@pytest.fixture
def as_admin(client, make_user):
    admin = make_user(None, roles="admin")
    assert login(client, admin.username).status_code == 302
    return client


def test_the_same_bad_address_is_refused_in_the_same_words_on_the_unit_and_the_user_form(
    as_admin, make_unit, parties
):
    unit = make_unit("municipality")
    unit_page = post(
        as_admin,
        "/admin/units/new",
        organisation_id=str(unit.organisation_id),
        key="ny-enhet",
        name="Ny enhet",
        kind="other",
        email="x@",
    )
    user_page = post(
        as_admin,
        "/admin/users/new",
        username="ny.person",
        display_name="Ny Person",
        email="x@",
        unit_id=str(parties.municipality.id),
        roles="staff",
    )
    for response in (unit_page, user_page):
        assert response.status_code == 400
        assert EMAIL_REFUSAL in text_of(response)
    edit = f"/admin/users/{parties.municipality_user.id}"
    (pairs,) = [p for p in forms_of(text_of(as_admin.get(edit))).values() if any(k == "email" for k, _v in p)]
    assert EMAIL_REFUSAL in text_of(as_admin.post(edit, data=fill(pairs, email="x@")))


def _text(html: str) -> str:
    """A page as it reads: tags dropped, spaces collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html))


def test_the_admin_menu_separates_every_link(as_admin):
    menu = re.search(r'<nav class="admin-nav".*?</nav>', text_of(as_admin.get("/admin/users")), re.S).group(0)
    assert "Påminnelser · KVÅ-koder · Byt lösenord" in _text(menu)


@pytest.mark.parametrize(
    ("url", "status"), [("/admin/users/999999", 404), ("/admin/users/1/disable", 405), ("/nowhere", 404)]
)
def test_an_error_page_leads_an_administrator_back_to_the_administration(as_admin, url, status):
    response = as_admin.get(url)
    assert response.status_code == status
    html = text_of(response)
    assert '<a href="/admin/">Tillbaka till administrationen</a>' in html
    assert "Mina SIP" not in html


def test_an_error_page_leads_staff_who_administer_back_to_their_sips(client, make_user, parties):
    login(client, make_user(parties.region, roles="staff,admin").username)
    html = text_of(client.get("/admin/users/999999"))
    assert '<a href="/cases">Tillbaka till Mina SIP</a>' in html and "administrationen" not in html


def _stale_notice(client, url: str, first: dict, second: dict) -> str:
    def form():
        html = text_of(client.get(url)).replace(
            '<form method="post" novalidate>', '<form method="post" action="">'
        )
        (pairs,) = [p for p in forms_of(html).values() if any(k == "name" for k, _v in p)]
        return pairs

    tab_a, tab_b = form(), form()
    assert client.post(url, data=fill(tab_a, **first)).status_code == 302
    response = client.post(url, data=fill(tab_b, **second))
    assert response.status_code == 409
    return text_of(response)


def test_the_stale_edit_notice_names_only_what_the_form_can_change(as_admin, make_unit):
    unit = make_unit("other", "Försäkringskassan", unit_name="Växjö")
    url = f"/admin/organisations/{unit.organisation_id}/edit"
    # Both changed the name: the clash is said at it, and nothing of the key the form cannot change.
    html = _stale_notice(as_admin, url, {"name": "FK"}, {"name": "Kassan"})
    assert "Ändrat av någon annan till FK; du skrev Kassan." in html
    assert beside_fields(html).count("Ändrat av någon annan") == 1
    html = _stale_notice(as_admin, f"/admin/units/{unit.id}/edit", {"name": "Växjökontoret"}, {"name": "V"})
    assert "Ändrat av någon annan till Växjökontoret; du skrev V." in html
    assert beside_fields(html).count("Ändrat av någon annan") == 1


def test_another_regions_organisation_still_shows_its_key_read_only(client, make_user, make_unit, parties):
    login(client, make_user(parties.region, roles="admin").username)
    kalmar = make_unit("region", "Region Kalmar län", county_code="08")
    html = text_of(client.get(f"/admin/organisations/{kalmar.organisation_id}/edit"))
    assert "<dt>Nyckel</dt>" in html and "org-" in html


@pytest.mark.parametrize(("choice", "language"), [(None, "en"), ("sv", "sv")])
def test_the_set_password_page_speaks_the_users_language_unless_the_browser_chose_one(
    app, db_session, now, parties, choice, language
):
    with unit_of_work(db_session):
        invite_user(
            db_session,
            actor=None,
            username="john.smith",
            display_name="John Smith",
            email="john@vaxjo.example.se",
            unit_id=parties.municipality.id,
            roles="staff",
            language="en",
            now=now,
        )
    path = link_path(body_of(outbox(db_session)[-1]))
    browser = FreshContextClient(app, app.response_class, use_cookies=True)
    if choice is not None:
        browser.get(f"/login?lang={choice}")
    html = text_of(browser.get(path))
    assert f'<html lang="{language}">' in html
    assert ("Choose your password" in html) == (language == "en"), html[:2000]
