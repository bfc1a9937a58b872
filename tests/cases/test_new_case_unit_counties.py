"""Ny SIP's unit picker: the own county's units first and open, other counties' behind a closed disclosure
each (a keyboard user passes them with one key), opened again when a form sent back has one ticked."""

from __future__ import annotations

import re

import pytest
import support
from webkit import fill, forms_of, login, text_of

from sipflow.areas import load_areas
from sipflow.cases import queries
from sipflow.people.models import Organisation

load_areas()

pytestmark = pytest.mark.usefixtures("frozen_clock")


@pytest.fixture
def kalmar(db_session, parties, make_unit):
    """A unit of a Kalmar municipality whose organisation names no county, only its municipality (the
    county is the municipality's), and a Kalmar region unit."""
    municipal = make_unit("municipality", "Kalmar kommun", county_code=None, unit_name="Socialtjänsten")
    organisation = municipal.organisation_id
    db_session.get(Organisation, organisation).municipality_code = "0880"
    db_session.commit()
    region = make_unit("region", "Region Kalmar län", county_code="08", unit_name="Hälso- och sjukvården")
    return municipal, region


def _details(html: str) -> list[str]:
    return re.findall(r"<details[^>]*>.*?</details>", html, flags=re.S)


def test_other_counties_units_sit_in_a_closed_disclosure_after_the_own_countys(client, parties, kalmar):
    municipal, region = kalmar
    login(client, parties.region_user.username)
    html = text_of(client.get("/cases/new"))
    own = html.index(f'id="unit_ids-{parties.municipality.id}"')
    disclosures = _details(html)
    assert len(disclosures) == 1
    (details,) = disclosures
    assert own < html.index(details)
    assert details.startswith('<details class="unit-county">')  # closed
    assert "<summary>Enheter i Kalmar län</summary>" in details
    assert f'id="unit_ids-{municipal.id}"' in details and f'id="unit_ids-{region.id}"' in details
    assert "<legend>Kalmar kommun</legend>" in details
    assert f'id="unit_ids-{parties.municipality.id}"' not in details


def test_a_ticked_unit_of_another_county_keeps_its_disclosure_open_after_a_refused_send(
    client, parties, kalmar
):
    municipal, _region = kalmar
    login(client, parties.region_user.username)
    form = forms_of(text_of(client.get("/cases/new")))["/cases/new"]
    data = fill(
        form,
        workflow_name="sip",
        identifier="not a number",
        given_name="Kim",
        family_name="Berg",
        home_municipality_code="0780",
        unit_ids=[str(parties.municipality.id), str(municipal.id)],
    )
    response = client.post("/cases/new", data=data)
    assert response.status_code == 400
    html = text_of(response)
    (details,) = _details(html)
    assert details.startswith('<details class="unit-county" open>')
    assert re.search(rf'id="unit_ids-{municipal.id}"[^>]* checked', details)
    assert re.search(rf'id="unit_ids-{parties.municipality.id}"[^>]* checked', html)


def test_units_for_new_case_put_national_organisations_near(db_session, parties, kalmar):
    """Försäkringskassan's user (no county): the national organisations near, every county apart."""
    outsider = db_session.get(Organisation, parties.outsider.organisation_id)
    outsider.county_code = None
    db_session.commit()
    units = queries.units_for_new_case(
        db_session, parties.outsider.organisation_id, exclude_unit_ids={parties.outsider.id}
    )
    assert units.near == ()
    assert [county.name for county in units.elsewhere] == ["Kalmar län", "Kronobergs län"]
    kronoberg = queries.units_for_new_case(
        db_session, parties.region.organisation_id, exclude_unit_ids={parties.region.id}
    )
    near = ["Försäkringskassan", "Katedralskolan", "Växjö kommun"]
    assert [group.label for group in kronoberg.near] == near
    assert [county.name for county in kronoberg.elsewhere] == ["Kalmar län"]


def test_the_grouping_by_county_costs_no_statement_more(db_session, engine, parties, kalmar):
    """The counties come with the units' one statement (no place is shared, so no label reads one); once
    read, the units come from the process's copy while the directory's token is the same: one statement."""
    own, own_unit = parties.region.organisation_id, parties.region.id
    db_session.expire_all()
    with support.statements(engine) as seen:
        units = queries.units_for_new_case(db_session, own, exclude_unit_ids={own_unit})
    assert len(seen) == 2 and "directory_version" in seen[0], seen
    assert units.elsewhere[0].name == "Kalmar län"
    with support.statements(engine) as seen:
        again = queries.units_for_new_case(db_session, own, exclude_unit_ids={own_unit})
    assert len(seen) == 1 and "directory_version" in seen[0], seen
    assert again == units
