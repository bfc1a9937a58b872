"""A region's administrator changes their own county's directory only, and gives no coordinator every county.

Kronoberg's administrator (county 07) against Region Exempelland (county 22, from the example import) and
Försäkringskassan (a national organisation, no county): both are read-only to them, on the pages and in
the import; a national administrator (no unit) and the command line change any.
"""

from __future__ import annotations

import pytest
from directorykit import EXAMPLE_CSV, changes, csv_of, post
from sqlmodel import select
from webkit import FreshContextClient, login, text_of

from sipflow.admin import directory, imports
from sipflow.admin import users as admin_users
from sipflow.clock import now_utc
from sipflow.db import unit_of_work
from sipflow.errors import InvalidInput, NotAllowed
from sipflow.people.models import Organisation, Unit, User

pytestmark = pytest.mark.usefixtures("frozen_clock")

OTHER_REGION = "Organisationen hör till en annan region: du kan läsa den men inte ändra den."
OTHER_REGIONS_UNIT = (
    "Enhetens organisation hör till en annan region: du kan läsa dess enheter men inte ändra dem."
)
# A national organisation (no county) is no other region's: who changes it is said instead.
NATIONAL = (
    "Organisationen är nationell (utan län): den ändras av dess egen administratör eller av en nationell"
    " administratör. Du kan läsa den."
)
NATIONAL_UNIT = (
    "Enhetens organisation är nationell (utan län): dess enheter ändras av organisationens egen administratör"
    " eller av en nationell administratör. Du kan läsa dem."
)
YOUR_COUNTY = "Välj ditt län eller en av dess kommuner."


def _import(db_session, now, data: bytes, *, actor=None, apply: bool = True):
    with unit_of_work(db_session):
        return imports.import_directory(db_session, data, actor=actor, now=now, apply=apply)


@pytest.fixture
def exempelland(db_session, app_ctx, now):
    """The example county import (Region Exempelland, county 22), made from the command line."""
    assert _import(db_session, now, EXAMPLE_CSV.read_bytes()).applied
    db_session.commit()
    region = db_session.exec(select(Organisation).where(Organisation.key == "exempel-region")).one()
    unit = db_session.exec(select(Unit).where(Unit.key == "exempel-vc-norr")).one()
    return region, unit


@pytest.fixture
def national_org(db_session):
    """Försäkringskassan: an organisation of no county, with one unit."""
    organisation = Organisation(key="fk-national", name="Försäkringskassan", kind="other", county_code=None)
    db_session.add(organisation)
    db_session.flush()
    unit = Unit(key="fk-national-vaxjo", organisation_id=organisation.id, name="FK Växjö")
    db_session.add(unit)
    db_session.commit()
    return organisation, unit


@pytest.fixture
def kronoberg_admin(make_user, parties):
    """Region Kronoberg's administrator (their unit's organisation has county 07)."""
    return make_user(parties.region, roles="admin", username="kronoberg-admin-{n}")


@pytest.fixture
def as_kronoberg(client, kronoberg_admin):
    assert login(client, kronoberg_admin.username).status_code == 302
    return client


def _reload(db_session, model, key):
    db_session.expire_all()
    return db_session.get(model, key)


# --- The directory pages -----------------------------------------------------------------------------------


def test_another_countys_organisation_is_not_deactivated_by_a_regions_administrator(
    as_kronoberg, db_session, exempelland
):
    region, unit = exempelland
    before = len(changes(db_session))
    response = post(as_kronoberg, f"/admin/organisations/{region.id}/deactivate")
    assert response.status_code == 302
    assert OTHER_REGION in text_of(as_kronoberg.get(response.headers["Location"]))
    assert _reload(db_session, Organisation, region.id).active
    assert _reload(db_session, Unit, unit.id).active
    assert len(changes(db_session)) == before


def test_the_lists_offer_a_regions_administrator_no_button_on_another_regions_rows(
    as_kronoberg, exempelland, national_org, parties
):
    region, unit = exempelland
    read_only = "Hör till en annan region: kan bara läsas"
    for url in ("/admin/organisations", "/admin/units"):
        page = text_of(as_kronoberg.get(url))
        assert read_only in page
        assert f"/admin/organisations/{region.id}/" not in page and f"/admin/units/{unit.id}/" not in page
    assert f"/admin/organisations/{parties.region.organisation_id}/edit" in text_of(
        as_kronoberg.get("/admin/organisations")
    )


def test_a_national_organisation_is_read_only_to_a_regions_administrator(
    as_kronoberg, db_session, national_org
):
    organisation, unit = national_org
    assert as_kronoberg.get(f"/admin/organisations/{organisation.id}/edit").status_code == 200
    response = post(
        as_kronoberg,
        f"/admin/organisations/{organisation.id}/edit",
        version="1",
        name="Omdöpt",
        kind="other",
        county_code="",
        municipality_code="",
    )
    assert response.status_code == 403 and NATIONAL in text_of(response)
    assert 'value="Omdöpt"' in text_of(response)  # what was typed is kept
    edited = post(
        as_kronoberg, f"/admin/units/{unit.id}/edit", version="1", name="Omdöpt", kind="other", email=""
    )
    assert edited.status_code == 403 and NATIONAL_UNIT in text_of(edited)
    post(as_kronoberg, f"/admin/units/{unit.id}/deactivate")
    assert _reload(db_session, Organisation, organisation.id).name == "Försäkringskassan"
    assert _reload(db_session, Unit, unit.id).name == "FK Växjö" and unit.active
    assert changes(db_session) == []


def test_a_regions_administrator_creates_organisations_of_their_county_only(as_kronoberg, db_session):
    for county_code, municipality_code in (("22", ""), ("", ""), ("", "2281")):
        response = post(
            as_kronoberg,
            "/admin/organisations/new",
            key="ny-org",
            name="Ny organisation",
            # A school: a region or another agency has no municipality at all.
            kind="school",
            county_code=county_code,
            municipality_code=municipality_code,
        )
        assert response.status_code == 400 and YOUR_COUNTY in text_of(response)
    assert db_session.exec(select(Organisation).where(Organisation.key == "ny-org")).first() is None
    response = post(
        as_kronoberg,
        "/admin/organisations/new",
        key="ny-org",
        name="Alvesta kommun",
        kind="municipality",
        county_code="",
        municipality_code="0764",
    )
    assert response.status_code == 302
    assert db_session.exec(select(Organisation).where(Organisation.key == "ny-org")).one().county_code == "07"


def test_a_regions_administrator_adds_units_to_their_countys_organisations_only(
    as_kronoberg, db_session, exempelland, parties
):
    region, _unit = exempelland
    page = text_of(as_kronoberg.get("/admin/units/new"))
    assert "Region Kronoberg" in page and region.name not in page
    response = post(
        as_kronoberg,
        "/admin/units/new",
        organisation_id=str(region.id),
        key="ny-enhet",
        name="Ny",
        kind="other",
    )
    assert response.status_code == 403 and OTHER_REGIONS_UNIT in text_of(response)
    assert db_session.exec(select(Unit).where(Unit.key == "ny-enhet")).first() is None
    own = post(
        as_kronoberg,
        "/admin/units/new",
        organisation_id=str(parties.region.organisation_id),
        key="ny-enhet",
        name="Ny",
        kind="other",
    )
    assert own.status_code == 302


def test_a_national_administrator_changes_any_county_and_that_countys_administrator_sees_it_in_the_log(
    app, client, db_session, exempelland, make_user, kronoberg_admin
):
    region, unit = exempelland
    national = make_user(None, roles="admin", username="national-{n}")
    county_22 = make_user(unit, roles="admin", username="exempel-admin-{n}")
    assert login(client, national.username).status_code == 302
    edited = post(client, f"/admin/units/{unit.id}/edit", version="1", name="VC Norr, ny", kind="vardcentral")
    assert edited.status_code == 302
    assert post(client, f"/admin/organisations/{region.id}/deactivate").status_code == 302
    assert not _reload(db_session, Organisation, region.id).active
    seen = {}
    for admin in (county_22, kronoberg_admin):
        browser = FreshContextClient(app, app.response_class, use_cookies=True)
        assert login(browser, admin.username).status_code == 302
        seen[admin.id] = text_of(browser.get("/admin/log"))
    assert "VC Norr, ny" in seen[county_22.id] and "Organisation inaktiverad" in seen[county_22.id]
    assert "VC Norr, ny" not in seen[kronoberg_admin.id]


# --- The import --------------------------------------------------------------------------------------------


def test_a_regions_administrators_import_of_another_county_is_refused_line_by_line(
    db_session, app_ctx, now, kronoberg_admin
):
    report = _import(db_session, now, EXAMPLE_CSV.read_bytes(), actor=kronoberg_admin)
    refused = {(e.line, e.message) for e in report.errors}
    assert (2, YOUR_COUNTY) in refused  # Region Exempelland, county 22
    assert not report.applied
    assert db_session.exec(select(Organisation).where(Organisation.county_code == "22")).first() is None


def test_a_regions_administrators_import_changes_no_national_organisation(
    db_session, app_ctx, now, kronoberg_admin, national_org
):
    organisation, _unit = national_org
    renamed = "organisation;fk-national;Omdöpt;other;;;;;;;;;"
    report = _import(db_session, now, csv_of(renamed), actor=kronoberg_admin)
    assert [(e.line, e.column, e.message) for e in report.errors] == [(2, "key", NATIONAL)]
    unit_line = "unit;fk-national-vaxjo;Omdöpt;other;fk-national;;;;no;;;;"
    report = _import(db_session, now, csv_of(unit_line), actor=kronoberg_admin)
    assert [(e.line, e.column, e.message) for e in report.errors] == [(2, "organisation", NATIONAL_UNIT)]
    assert _reload(db_session, Organisation, organisation.id).name == "Försäkringskassan"
    # A line that changes nothing may name it, and the command line changes it.
    assert _import(
        db_session, now, csv_of(renamed.replace("Omdöpt", "Försäkringskassan")), actor=kronoberg_admin
    ).applied
    assert _import(db_session, now, csv_of(renamed)).applied
    assert _reload(db_session, Organisation, organisation.id).name == "Omdöpt"


# --- A coordinator's scope ---------------------------------------------------------------------------------


def test_a_regions_administrator_invites_no_coordinator_of_every_county(as_kronoberg, db_session, parties):
    data = {
        "username": "ny.samordnare",
        "display_name": "Ny Samordnare",
        "email": "ny@vaxjo.example.se",
        "unit_id": str(parties.region.id),
        "roles": "coordinator",
        "language": "sv",
    }
    response = post(as_kronoberg, "/admin/users/new", **data, scope="")
    assert response.status_code == 400 and YOUR_COUNTY in text_of(response)
    assert db_session.exec(select(User).where(User.username == "ny.samordnare")).first() is None
    assert post(as_kronoberg, "/admin/users/new", **data, scope="0780").status_code == 302


def test_a_regions_administrators_import_gives_no_coordinator_every_county(
    db_session, app_ctx, now, kronoberg_admin, parties
):
    line = f"user;u.coord;Coord;;;{parties.region.key};;;;coord@example.se;;coordinator;"
    report = _import(db_session, now, csv_of(line), actor=kronoberg_admin)
    assert [(e.line, e.column, e.message) for e in report.errors] == [(2, "scope", YOUR_COUNTY)]
    # The command line has no region: its coordinator may follow every county.
    assert _import(db_session, now, csv_of(line)).applied


def test_an_administrator_of_an_organisation_without_a_county_changes_only_that_organisation(
    db_session, app_ctx, now, make_user, national_org, exempelland
):
    organisation, unit = national_org
    fk_admin = make_user(unit, roles="admin", username="fk-admin-{n}")
    with pytest.raises(NotAllowed), unit_of_work(db_session):
        directory.create_organisation(db_session, fk_admin, key="ny", name="Ny", kind="other", now=now)
    with pytest.raises(NotAllowed), unit_of_work(db_session):
        directory.set_organisation_active(db_session, fk_admin, exempelland[0], False, now=now)
    # A county would make the organisation's administrators that county's.
    with pytest.raises(InvalidInput) as caught, unit_of_work(db_session):
        directory.edit_organisation(
            db_session, fk_admin, organisation, name="FK", kind="other", county_code="07", now=now
        )
    assert caught.value.field == "county_code"
    with unit_of_work(db_session):
        assert directory.edit_organisation(
            db_session, fk_admin, organisation, name="FK", kind="other", now=now
        )
        directory.create_unit(
            db_session, fk_admin, organisation, key="fk-ny", name="FK Ny", kind="other", now=now
        )
    assert _reload(db_session, Organisation, organisation.id).name == "FK"


NO_COUNTY_NO_COORDINATOR = (
    "Din organisation har inget län: bara ett läns eller en nationell administratör gör en användare till "
    "samordnare eller ändrar vad den följer."
)


def test_an_administrator_of_an_organisation_without_a_county_makes_no_coordinator(
    client, db_session, make_user, national_org, registry
):
    """A coordinator's numbers reach beyond the organisation: only a county's or a national administrator
    gives them. One made by a national administrator keeps what it follows when edited."""
    organisation, unit = national_org
    fk_admin = make_user(unit, roles="admin", username="fk-admin-{n}")
    assert login(client, fk_admin.username).status_code == 302
    data = {
        "username": "fk.samordnare",
        "display_name": "FK Samordnare",
        "email": "samordnare@fk.example.se",
        "unit_id": str(unit.id),
        "roles": "coordinator",
        "language": "sv",
    }
    for scope in ("", "07", "0780"):
        response = post(client, "/admin/users/new", **data, scope=scope)
        assert response.status_code == 400 and NO_COUNTY_NO_COORDINATOR in text_of(response)
        assert 'value="samordnare@fk.example.se"' in text_of(response)
    assert db_session.exec(select(User).where(User.username == "fk.samordnare")).first() is None
    # A coordinator of its organisation made by a national administrator (the command line here).
    coordinator = make_user(unit, roles="coordinator", username="fk-coordinator-{n}")
    with unit_of_work(db_session):
        admin_users.update_user(
            db_session, None, coordinator, display_name="FK Coord", email="c@fk.example.se", unit_id=unit.id,
            roles="coordinator", coordinator_scope="07", now=now_utc(), registry=registry,
        )  # fmt: skip
    edit = {
        "display_name": "FK Coord (ny)",
        "email": "c@fk.example.se",
        "unit_id": str(unit.id),
        "roles": "coordinator",
        "language": "sv",
    }
    url = f"/admin/users/{coordinator.id}"
    version = str(_reload(db_session, User, coordinator.id).row_version)
    response = post(client, url, **edit, scope="08", version=version)
    assert response.status_code == 400 and NO_COUNTY_NO_COORDINATOR in text_of(response)
    assert post(client, url, **edit, scope="07", version=version).status_code == 302
    assert _reload(db_session, User, coordinator.id).display_name == "FK Coord (ny)"
    assert admin_users.coordinator_scope(db_session, coordinator) == (frozenset({"07"}), frozenset())


def _offers_coordinator(client, url: str) -> bool:
    response = client.get(url)
    assert response.status_code == 200
    return 'value="coordinator"' in text_of(response)


def test_the_user_form_offers_the_coordinator_role_only_where_it_can_be_given(
    client, db_session, make_user, national_org, kronoberg_admin
):
    """An agency's administrator was offered the coordinator role on every user form, and every choice of it
    was refused; a coordinator they may keep still has it offered, ticked."""
    organisation, unit = national_org
    fk_admin = make_user(unit, roles="admin", username="fk-admin-{n}")
    coordinator = make_user(unit, roles="coordinator", username="fk-coordinator-{n}")
    staff = make_user(unit, roles="staff", username="fk-staff-{n}")
    assert login(client, fk_admin.username).status_code == 302
    assert not _offers_coordinator(client, "/admin/users/new")
    assert not _offers_coordinator(client, f"/admin/users/{staff.id}")
    assert _offers_coordinator(client, f"/admin/users/{coordinator.id}")
    other = FreshContextClient(client.application, client.application.response_class, use_cookies=True)
    assert login(other, kronoberg_admin.username).status_code == 302
    assert _offers_coordinator(other, "/admin/users/new")


def test_another_regions_organisation_and_unit_pages_are_read_only_to_a_regions_administrator(
    as_kronoberg, exempelland, national_org, parties
):
    region, unit = exempelland
    organisation, national_unit = national_org
    for url, reason, shown in (
        (f"/admin/organisations/{region.id}/edit", OTHER_REGION, region.name),
        (f"/admin/organisations/{organisation.id}/edit", NATIONAL, organisation.name),
        (f"/admin/units/{unit.id}/edit", OTHER_REGIONS_UNIT, unit.name),
        (f"/admin/units/{national_unit.id}/edit", NATIONAL_UNIT, national_unit.name),
    ):
        response = as_kronoberg.get(url)
        page = text_of(response)
        assert response.status_code == 200
        # What is saved is shown with the reason, and nothing invites typing what the save would refuse.
        assert reason in page and shown in page
        assert "<form" not in page.split("<main", 1)[-1] and ">Spara<" not in page
    own = text_of(as_kronoberg.get(f"/admin/organisations/{parties.region.organisation_id}/edit"))
    assert ">Spara<" in own and OTHER_REGION not in own


def test_a_regions_administrators_import_refuses_a_username_of_another_region_as_taken(
    db_session, app_ctx, now, kronoberg_admin, make_user, national_org, parties
):
    # Not reported as "left alone" (with the file's name for them): the line's colleague would never be
    # invited, and the report would say the username exists outside the region.
    _organisation, unit = national_org
    elsewhere = make_user(unit, username="omar-{n}")
    own = make_user(parties.region, username="eget-{n}")
    lines = [
        f"user;{elsewhere.username};Omar Nyberg;;;{parties.region.key};;;;omar.nyberg@example.se;;staff;",
        f"user;{own.username};Eget Namn;;;{parties.region.key};;;;eget@example.se;;staff;",
    ]
    report = _import(db_session, now, csv_of(*lines), actor=kronoberg_admin)
    assert [(e.line, e.column, e.message) for e in report.errors] == [
        (2, "key", "Användarnamnet är upptaget.")
    ]
    # The region's own user alone is left alone, and a national import leaves both alone.
    assert _import(db_session, now, csv_of(lines[1]), actor=kronoberg_admin).applied
    assert _import(db_session, now, csv_of(*lines)).applied
