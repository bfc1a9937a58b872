"""Which kinds of organisation have a municipality: a municipality (required) and a school; a region or
another agency is refused one at the field, on the page and in the import alike."""

from __future__ import annotations

import pytest
from directorykit import changes, csv_of, post
from sqlmodel import select
from webkit import login, text_of

from sipflow.admin import directory, imports
from sipflow.db import unit_of_work
from sipflow.demo import kronoberg
from sipflow.demo.population import _party_specs
from sipflow.errors import InvalidInput
from sipflow.people.models import MUNICIPALITY_KINDS, ORGANISATION_KINDS, Organisation

pytestmark = pytest.mark.usefixtures("frozen_clock")

NO_MUNICIPALITY = "En region eller en annan myndighet hör inte till någon kommun: lämna Kommun tomt."


@pytest.mark.parametrize("kind", ["region", "other"])
def test_a_region_or_another_agency_with_a_municipality_is_refused_at_the_field(
    client, db_session, make_user, kind
):
    admin = make_user(None, roles="admin")
    login(client, admin.username)
    response = post(
        client,
        "/admin/organisations/new",
        key="region-10",
        name="Region 10",
        kind=kind,
        county_code="10",
        municipality_code="1082",
    )
    assert response.status_code == 400
    page = text_of(response)
    assert 'id="municipality_code-error"' in page and NO_MUNICIPALITY in page
    assert db_session.exec(select(Organisation)).all() == [] and changes(db_session) == []


@pytest.mark.parametrize("kind", MUNICIPALITY_KINDS)
def test_a_municipality_or_a_school_keeps_its_municipality(db_session, app_ctx, now, kind):
    organisation = directory.create_organisation(
        db_session, None, key="k", name="Karlshamn", kind=kind, municipality_code="1082", now=now
    )
    assert (organisation.county_code, organisation.municipality_code) == ("10", "1082")


def test_an_edit_giving_a_region_a_municipality_is_refused(db_session, app_ctx, now):
    region = directory.create_organisation(
        db_session, None, key="r", name="Region Blekinge", kind="region", county_code="10", now=now
    )
    with pytest.raises(InvalidInput) as refused:
        directory.edit_organisation(
            db_session,
            None,
            region,
            name=region.name,
            kind="region",
            county_code="10",
            municipality_code="1082",
            now=now,
        )
    assert refused.value.field == "municipality_code"


def test_the_import_refuses_it_at_the_municipality_column_in_the_same_words(db_session, app_ctx, now):
    data = csv_of("organisation;region-10;Region 10;region;;;10;1082;;;;;")
    with unit_of_work(db_session):
        report = imports.import_directory(db_session, data, actor=None, now=now, apply=False)
    assert [(e.line, e.column, e.message) for e in report.errors] == [(2, "municipality", NO_MUNICIPALITY)]


def test_the_demos_organisations_keep_to_the_rule(db_session, app_ctx):
    specs = list(kronoberg.ORGANISATIONS) + _party_specs(db_session)[0]
    assert {spec.kind for spec in specs} == set(ORGANISATION_KINDS)
    for spec in specs:
        directory.clean_organisation(
            db_session,
            name=spec.name,
            kind=spec.kind,
            county_code=spec.county_code,
            municipality_code=spec.municipality_code,
        )
