"""A national agency (Försäkringskassan: an organisation of no county, with offices in several counties) is
read-only to a county's administrator, and is said to be national, never another region's: the
administrator would go looking for a region that has no say over it. Who changes it is said instead."""

from __future__ import annotations

import pytest
from directorykit import csv_of
from sqlmodel import select
from webkit import login, text_of

from sipflow.admin import imports
from sipflow.db import unit_of_work
from sipflow.people.models import Organisation, Unit

pytestmark = pytest.mark.usefixtures("frozen_clock")

NATIONAL_UNIT = (
    "Enhetens organisation är nationell (utan län): dess enheter ändras av organisationens egen administratör"
    " eller av en nationell administratör. Du kan läsa dem."
)
OTHER_REGION = "annan region"


@pytest.fixture
def agency(db_session, parties):
    """Försäkringskassan with no county and its offices in Växjö (07) and Kalmar (08)."""
    organisation = db_session.get(Organisation, parties.outsider.organisation_id)
    organisation.county_code = None
    db_session.add(Unit(key="fk-kalmar", organisation_id=organisation.id, name="Försäkringskassan Kalmar"))
    db_session.commit()
    return organisation


@pytest.fixture
def kronoberg_admin(make_user, parties):
    return make_user(parties.region, roles="admin", username="kronoberg-admin-{n}")


def test_the_lists_call_a_national_organisation_national(client, kronoberg_admin, agency):
    login(client, kronoberg_admin.username)
    for url in ("/admin/organisations", "/admin/units"):
        page = text_of(client.get(url))
        row = page[page.index(agency.name) :]
        row = row[: row.index("</tr>")]
        assert "Nationell: kan bara läsas" in row, url
        assert OTHER_REGION not in row, url


def test_a_units_page_of_a_national_organisation_says_who_changes_it(
    client, db_session, kronoberg_admin, agency
):
    unit = db_session.exec(select(Unit).where(Unit.key == "fk-kalmar")).one()
    login(client, kronoberg_admin.username)
    page = text_of(client.get(f"/admin/units/{unit.id}/edit"))
    assert NATIONAL_UNIT in page and OTHER_REGION not in page


def test_the_import_refuses_a_national_organisations_unit_as_national(
    db_session, kronoberg_admin, agency, now
):
    data = csv_of(f"unit;fk-jonkoping;Försäkringskassan Jönköping;;{agency.key};;;;no;;;;")
    with unit_of_work(db_session):
        report = imports.import_directory(db_session, data, actor=kronoberg_admin, now=now, apply=False)
    assert [(error.line, error.column, str(error.message)) for error in report.errors] == [
        (2, "organisation", NATIONAL_UNIT)
    ]
