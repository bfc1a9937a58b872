"""The user forms refuse every bad field in one round, each beside its field, with what was typed kept; a
coordinator who follows no county follows every one, and the pages say so."""

from __future__ import annotations

import re

import pytest
from webkit import fill, forms_of, login, text_of

from sipflow.admin.models import CoordinatorScope

pytestmark = pytest.mark.usefixtures("frozen_clock")


@pytest.fixture
def as_admin(client, make_user, parties):
    """Region Kronoberg's administrator (county 07), as the tester was."""
    admin = make_user(parties.region, roles="admin")
    assert login(client, admin.username).status_code == 302
    return client


def field_errors(html: str) -> dict[str, str]:
    """{field: its first refusal} as the page shows them."""
    return dict(re.findall(r'<ul class="field-errors" id="([a-z_]+)-error">\s*<li>([^<]*)</li>', html))


def _form(client, url: str, key: str):
    (pairs,) = [p for p in forms_of(text_of(client.get(url))).values() if any(k == key for k, _v in p)]
    return pairs


def test_the_invite_form_refuses_every_bad_field_at_once_and_keeps_what_was_typed(as_admin, parties):
    pairs = _form(as_admin, "/admin/users/new", "username")
    typed = fill(
        pairs,
        username="Bad Name",
        display_name="",
        email="x@",
        unit_id=str(parties.municipality.id),
        roles="coordinator",
        scope="7",
    )
    response = as_admin.post("/admin/users/new", data=typed)
    assert response.status_code == 400
    html = text_of(response)
    errors = field_errors(html)
    assert set(errors) == {"username", "display_name", "email", "scope"}, errors
    assert errors["display_name"] == "Fältet måste fyllas i."
    assert errors["email"] == "Skriv en e-postadress, till exempel namn@example.se."
    assert 'value="Bad Name"' in html and 'value="x@"' in html and 'value="7"' in html


def test_the_edit_form_refuses_every_bad_field_at_once(as_admin, parties):
    url = f"/admin/users/{parties.municipality_user.id}"
    pairs = _form(as_admin, url, "display_name")
    response = as_admin.post(
        url, data=fill(pairs, display_name="", email="x@", scope="7", roles="coordinator")
    )
    assert response.status_code == 400
    assert set(field_errors(text_of(response))) == {"display_name", "email", "scope"}


def test_a_taken_username_is_refused_beside_the_other_refusals(as_admin, parties):
    pairs = _form(as_admin, "/admin/users/new", "username")
    typed = fill(
        pairs,
        username=parties.region_user.username,
        display_name="Ny Person",
        email="",
        unit_id=str(parties.municipality.id),
        roles="staff",
    )
    errors = field_errors(text_of(as_admin.post("/admin/users/new", data=typed)))
    assert errors == {
        "username": "Användarnamnet är upptaget.",
        "email": "En inbjuden användare behöver en e-postadress.",
    }


def test_a_coordinator_with_no_county_follows_every_county_and_the_pages_say_so(
    client, db_session, make_user, parties
):
    national = make_user(None, roles="admin")
    login(client, national.username)
    help_text = "Lämnas fältet tomt följer samordnaren alla län (hela landets statistik)."
    assert help_text in text_of(client.get("/admin/users/new"))
    everywhere = make_user(None, roles="coordinator", username="overall-{n}", display_name="Överallt")
    kronoberg = make_user(None, roles="coordinator", username="k-{n}", display_name="Kronoberg")
    db_session.add(CoordinatorScope(user_id=kronoberg.id, county_code="07"))
    db_session.commit()
    rows = {
        name: cells
        for name, cells in re.findall(
            # the name as shown, the username after it visually hidden
            r'<tr>\s*<th scope="row"><a [^>]*>([^<]*)(?:<span class="visually-hidden">[^<]*</span>)?</a></th>'
            r"(.*?)</tr>",
            text_of(client.get("/admin/users")),
            re.S,
        )
    }
    assert "Samordnare (alla län)" in rows["Överallt"] and "alla län" not in rows["Kronoberg"]
    assert "Följer som samordnare alla län" in text_of(client.get(f"/admin/users/{everywhere.id}"))
    assert "alla län" not in text_of(client.get(f"/admin/users/{kronoberg.id}")).replace(help_text, "")


def test_an_empty_required_field_is_refused_in_the_same_words_as_on_the_case_forms(as_admin, parties):
    # The admin forms said "Fill in this field.", the case and meeting forms "This field is required.".
    from sipflow.admin import forms as admin_forms
    from sipflow.cases import forms as case_forms
    from sipflow.meetings import forms as meeting_forms
    from sipflow.translated import REQUIRED

    assert admin_forms.REQUIRED is case_forms.REQUIRED is meeting_forms.REQUIRED is REQUIRED
    pairs = _form(as_admin, "/admin/users/new?lang=en", "username")
    typed = fill(pairs, username="anna", display_name="", email="anna@example.se", roles="coordinator")
    errors = field_errors(text_of(as_admin.post("/admin/users/new", data=typed)))
    assert errors["display_name"] == "This field is required."
