"""A cursor or id the administration's pages read from a request that names no row: the first page of a
list, a refusal at the field of a form, never a 500 (², ①, thousands of digits: what int() refuses)."""

from __future__ import annotations

import pytest
from directorykit import post
from sqlmodel import select
from webkit import login, text_of

from sipflow.people.models import Unit, User

pytestmark = pytest.mark.usefixtures("frozen_clock")

BAD_IDS = ["²", "¹", "①", "٣", "4" * 4400, "5" * 5000, "99999999999", "2147483648", "0", "-1", "abc"]

LISTS = [
    "/admin/users?after=",
    "/admin/log?before=",
    "/admin/organisations?after=",
    "/admin/units?after=",
    "/admin/units?organisation=",
    "/admin/reminders/?after=",
    "/admin/codes/assignments?after=",
    # The previous page's cursors, and the page number the pager's links carry.
    "/admin/users?before=",
    "/admin/log?after=",
    "/admin/organisations?before=",
    "/admin/units?before=",
    "/admin/reminders/?before=",
    "/admin/codes/assignments?before=",
    "/admin/codes?before=",
    "/admin/units?after=1&page=",
    "/admin/users?before=1&page=",
]


@pytest.fixture
def as_admin(client, make_user):
    admin = make_user(None, roles="admin")
    assert login(client, admin.username).status_code == 302
    return client


@pytest.mark.parametrize("bad", BAD_IDS)
@pytest.mark.parametrize("url", LISTS)
def test_a_cursor_that_names_no_row_shows_the_first_page(as_admin, url, bad):
    assert as_admin.get(url + bad).status_code == 200


@pytest.mark.parametrize("bad", ["²", "①", "4" * 4400])
def test_a_unit_form_naming_no_organisation_is_refused_at_its_field(as_admin, db_session, make_unit, bad):
    form = {"organisation_id": bad, "key": "ny-enhet", "name": "Ny enhet", "kind": "psykiatri"}
    response = post(as_admin, "/admin/units/new", **form)
    assert response.status_code == 400
    assert 'id="organisation_id-error"' in text_of(response)
    assert db_session.exec(select(Unit).where(Unit.key == "ny-enhet")).first() is None


@pytest.mark.parametrize("bad", ["²", "①", "4" * 4400])
def test_a_user_form_naming_no_unit_is_refused_at_its_field(as_admin, db_session, bad):
    form = {"username": "ny.anvandare", "display_name": "Ny Användare", "email": "ny@example.se"}
    response = post(as_admin, "/admin/users/new", unit_id=bad, roles="staff", **form)
    assert response.status_code == 400
    assert 'id="unit_id-error"' in text_of(response)
    assert db_session.exec(select(User).where(User.username == "ny.anvandare")).first() is None
