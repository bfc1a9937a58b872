"""Edit forms of users, units and organisations read before another change: refused, what was typed kept,
merged with the change: a field the sender left takes what is saved now, one both changed is shown as a
clash at the field, and sent again the form saves the sender's own changes alone."""

from __future__ import annotations

import pytest
from directorykit import csv_of
from webkit import beside_fields, fill, forms_of, login, text_of

from sipflow.admin import directory, imports
from sipflow.db import unit_of_work
from sipflow.errors import Conflict
from sipflow.people.models import Organisation, Unit, User
from sipflow.people.services import set_user_language

pytestmark = [pytest.mark.db, pytest.mark.usefixtures("frozen_clock")]

STALE_SV = "Någon annan har ändrat detta medan du arbetade. Inget sparades: det du fyllde i finns kvar nedan"
STALE_MERGED_SV = "Någon annan har ändrat detta medan du arbetade. Inget sparades: fälten du lämnade orörda"
STALE_EN = "Someone else changed this while you were working. Nothing was saved: the fields you left"
TAKEN_IN_SV = "Ändrat av någon annan under tiden."


@pytest.fixture
def as_admin(client, make_user):
    """A national administrator's client."""
    admin = make_user(None, roles="admin")
    assert login(client, admin.username).status_code == 302
    return client


def form_at(client, url: str):
    """The edit form of the page at url, as a tab that loads it now holds it."""
    page = client.get(url)
    assert page.status_code == 200
    return edit_form(text_of(page))


def edit_form(html: str):
    """The form of html that holds a name field (the edit form)."""
    # The directory's forms post back to their own address (no action), which forms_of skips.
    html = html.replace('<form method="post" novalidate>', '<form method="post" action="" novalidate>')
    (pairs,) = [p for p in forms_of(html).values() if any(k in ("name", "display_name") for k, _v in p)]
    return pairs


def reload(db_session, model, key):
    db_session.expire_all()
    return db_session.get(model, key)


def two_tabs(client, url: str, first: dict, second: dict):
    """Tab A and tab B load url; A saves first (must succeed), then B: B's answer."""
    tab_a, tab_b = form_at(client, url), form_at(client, url)
    assert client.post(url, data=fill(tab_a, **first)).status_code == 302
    return client.post(url, data=fill(tab_b, **second))


def test_a_user_page_read_before_another_save_keeps_the_other_change_when_sent_again(
    as_admin, db_session, parties
):
    user = parties.region_user
    url = f"/admin/users/{user.id}"
    response = two_tabs(
        as_admin, url, {"email": "ny.adress@vaxjo.example.se"}, {"display_name": "Bertil Bytt"}
    )

    assert response.status_code == 409
    html = text_of(response)
    assert STALE_MERGED_SV in html and "Sparat nu" not in html
    # The field this tab left takes what the other saved, noted there; what it typed stays.
    kept = dict(edit_form(html))
    assert kept["display_name"] == "Bertil Bytt" and kept["email"] == "ny.adress@vaxjo.example.se"
    assert TAKEN_IN_SV in beside_fields(html)
    again = reload(db_session, User, user.id)
    assert again.email == "ny.adress@vaxjo.example.se" and again.display_name == user.display_name
    assert kept["version"] == str(again.row_version)

    # Sent again, it saves this tab's change and never undoes the other's.
    assert as_admin.post(url, data=fill(edit_form(html))).status_code == 302
    again = reload(db_session, User, user.id)
    assert (again.display_name, again.email) == ("Bertil Bytt", "ny.adress@vaxjo.example.se")


def test_a_user_field_both_tabs_changed_is_a_clash_at_the_field(as_admin, db_session, parties):
    user = parties.region_user
    url = f"/admin/users/{user.id}"
    response = two_tabs(as_admin, url, {"display_name": "Anna Först"}, {"display_name": "Bertil Sen"})

    assert response.status_code == 409
    html = text_of(response)
    assert "Ändrat av någon annan till Anna Först; du skrev Bertil Sen." in beside_fields(html)
    assert dict(edit_form(html))["display_name"] == "Bertil Sen"
    assert as_admin.post(url, data=fill(edit_form(html))).status_code == 302  # a deliberate choice now
    assert reload(db_session, User, user.id).display_name == "Bertil Sen"


def test_a_unit_page_read_before_another_save_keeps_the_other_change_when_sent_again(
    as_admin, db_session, make_unit
):
    unit = make_unit("municipality", "Växjö kommun", unit_name="Socialtjänsten")
    url = f"/admin/units/{unit.id}/edit"
    response = two_tabs(as_admin, url, {"email": "soc@vaxjo.example.se"}, {"name": "Socialtjänsten Växjö"})

    assert response.status_code == 409
    html = text_of(response)
    assert STALE_MERGED_SV in html
    kept = dict(edit_form(html))
    assert kept["name"] == "Socialtjänsten Växjö" and kept["email"] == "soc@vaxjo.example.se"
    again = reload(db_session, Unit, unit.id)
    assert (again.name, again.email) == ("Socialtjänsten", "soc@vaxjo.example.se")
    assert kept["version"] == str(again.row_version)

    assert as_admin.post(url, data=fill(edit_form(html))).status_code == 302
    again = reload(db_session, Unit, unit.id)
    assert (again.name, again.email) == ("Socialtjänsten Växjö", "soc@vaxjo.example.se")


def test_an_organisation_page_read_before_another_save_keeps_the_other_change_when_sent_again(
    as_admin, db_session, make_unit
):
    organisation_id = make_unit("other", "Försäkringskassan").organisation_id
    url = f"/admin/organisations/{organisation_id}/edit"
    response = two_tabs(as_admin, url, {"name": "Försäkringskassan Växjö"}, {"county_code": "08"})

    assert response.status_code == 409
    html = text_of(response)
    assert STALE_MERGED_SV in html
    kept = dict(edit_form(html))
    assert kept["name"] == "Försäkringskassan Växjö" and kept["county_code"] == "08"
    again = reload(db_session, Organisation, organisation_id)
    assert (again.name, again.county_code) == ("Försäkringskassan Växjö", "07")
    assert kept["version"] == str(again.row_version)

    assert as_admin.post(url, data=fill(edit_form(html))).status_code == 302
    again = reload(db_session, Organisation, organisation_id)
    assert (again.name, again.county_code) == ("Försäkringskassan Växjö", "08")


def test_the_stale_message_is_in_english_for_an_english_page(as_admin, db_session, make_unit):
    unit = make_unit("municipality", "Växjö kommun", unit_name="Socialtjänsten")
    assert as_admin.get("/admin/units?lang=en").status_code == 200
    response = two_tabs(as_admin, f"/admin/units/{unit.id}/edit", {"name": "A"}, {"name": "B"})
    assert response.status_code == 409 and STALE_EN in text_of(response)


def test_an_unchanged_save_leaves_another_open_form_current(as_admin, db_session, make_unit):
    unit = make_unit("municipality", "Växjö kommun", unit_name="Socialtjänsten")
    url = f"/admin/units/{unit.id}/edit"
    tab_a, tab_b = form_at(as_admin, url), form_at(as_admin, url)
    assert as_admin.post(url, data=fill(tab_a)).status_code == 302
    assert as_admin.post(url, data=fill(tab_b, name="Socialtjänsten Växjö")).status_code == 302
    assert reload(db_session, Unit, unit.id).name == "Socialtjänsten Växjö"


def test_an_import_deactivation_or_language_change_makes_an_open_form_stale(
    as_admin, db_session, make_unit, make_user, now
):
    unit = make_unit("municipality", "Växjö kommun", unit_name="Socialtjänsten")
    organisation = db_session.get(Organisation, unit.organisation_id)
    unit_url = f"/admin/units/{unit.id}/edit"
    open_form = form_at(as_admin, unit_url)
    line = f"unit;{unit.key};Socialtjänsten Teleborg;socialtjanst;{organisation.key};;;;no;;;;"
    with unit_of_work(db_session):
        report = imports.import_directory(db_session, csv_of(line), actor=None, now=now, apply=True)
    assert report.applied and not report.errors, report.errors
    assert as_admin.post(unit_url, data=fill(open_form, name="Annat")).status_code == 409
    assert reload(db_session, Unit, unit.id).name == "Socialtjänsten Teleborg"

    open_form = form_at(as_admin, unit_url)
    with unit_of_work(db_session):
        directory.set_unit_active(db_session, None, reload(db_session, Unit, unit.id), False, now=now)
    assert as_admin.post(unit_url, data=fill(open_form, name="Annat")).status_code == 409

    user = make_user(None, roles="coordinator", display_name="Cilla Koordinator")
    user_url = f"/admin/users/{user.id}"
    open_form = form_at(as_admin, user_url)
    with unit_of_work(db_session):
        assert set_user_language(db_session, reload(db_session, User, user.id), "en")
    response = as_admin.post(user_url, data=fill(open_form, display_name="Cilla Ny"))
    assert response.status_code == 409
    assert reload(db_session, User, user.id).language == "en"


def test_a_disabled_user_makes_the_open_user_form_stale(as_admin, db_session, parties):
    user = parties.region_user
    url = f"/admin/users/{user.id}"
    open_form = form_at(as_admin, url)
    assert (
        as_admin.post(f"{url}/disable", data={"csrf_token": dict(open_form)["csrf_token"]}).status_code == 302
    )
    assert as_admin.post(url, data=fill(open_form, display_name="Ny")).status_code == 409


def test_of_two_saves_from_one_version_only_the_first_gets_past(db_session, app_ctx, now, make_unit):
    """The compare-and-set: a save whose row looked current when it was read still loses to one made since."""
    unit = make_unit("municipality", "Växjö kommun", unit_name="Socialtjänsten")
    read_at = unit.row_version
    # Another save commits meanwhile, behind this session's back (its copy of the row still says read_at).
    db_session.execute(
        Unit.__table__.update().where(Unit.__table__.c.id == unit.id).values(row_version=read_at + 1)
    )
    assert unit.row_version == read_at
    with pytest.raises(Conflict) as refused:
        directory.edit_unit(
            db_session,
            None,
            unit,
            name="Annat",
            kind=unit.kind,
            is_health_care=unit.is_health_care,
            email=None,
            hsa_id=None,
            now=now,
            expected_version=read_at,
        )
    assert refused.value.status == 409 and str(refused.value).startswith(STALE_SV)


def test_a_form_without_its_version_is_refused_and_says_so(as_admin, db_session, make_unit):
    unit = make_unit("municipality", "Växjö kommun", unit_name="Socialtjänsten")
    url = f"/admin/units/{unit.id}/edit"
    response = as_admin.post(url, data=fill(form_at(as_admin, url), version=None, name="Annat"))
    assert response.status_code == 400
    assert "Formuläret är ofullständigt" in text_of(response)
    assert reload(db_session, Unit, unit.id).name == "Socialtjänsten"
