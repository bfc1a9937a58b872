"""The administration's words: one refusal of an e-mail address everywhere, the menu, the way back from an
error page, the stale-edit notice, and the set-password page in the user's language."""

from __future__ import annotations

import pytest
from directorykit import post
from webkit import fill, forms_of, login, text_of

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
