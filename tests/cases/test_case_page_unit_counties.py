"""The case page's unit picker (Lägg till deltagare, Annan enhet) in Ny SIP's order: the user's own county's
and the national organisations' units first (Försäkringskassan's offices among them), then each other
county's by county name, not every county's organisations in one alphabet: in a directory of all Sweden a
county's staff would otherwise pass Alvesta, Arjeplog and Arvidsjaur to reach their own."""

from __future__ import annotations

import re

import pytest
import support
from webkit import login, text_of

from sipflow.areas import load_areas
from sipflow.people.models import Organisation

load_areas()

pytestmark = pytest.mark.usefixtures("frozen_clock")


def _optgroups(html: str) -> list[str]:
    """The case page's unit picker's optgroup labels, in page order."""
    start = html.index('name="unit-unit_id"')
    return re.findall(r'<optgroup label="([^"]+)"', html[start : html.index("</select>", start)])


@pytest.fixture
def sweden(db_session, parties, make_unit):
    """Försäkringskassan national (no county); two Kalmar county organisations whose names sort first."""
    db_session.get(Organisation, parties.outsider.organisation_id).county_code = None
    db_session.commit()
    make_unit("region", "Alfa region i Kalmar län", county_code="08")
    make_unit("other", "Abc Kalmar", county_code="08")
    make_unit("other", "Blekingebolaget", county_code="10")


def test_the_own_county_and_the_national_units_come_first(client, parties, create_case, sweden):
    case = create_case()
    login(client, parties.region_user.username)
    groups = _optgroups(text_of(client.get(f"/cases/{case.uid}")))
    # Katedralskolan and Försäkringskassan (Växjö kommun takes part), then Blekinge (10), then Kalmar (08).
    assert groups == [
        "Försäkringskassan",
        "Katedralskolan",
        "Blekingebolaget",
        "Abc Kalmar",
        "Alfa region i Kalmar län",
    ]


def test_a_national_agencys_staff_get_the_national_units_first_then_every_county(
    client, db_session, registry, now, parties, create_case, sweden
):
    """Försäkringskassan's office takes part (consent given): its staff, of no county, have only the
    national organisations near (none left here) and every county apart, Kronoberg's among them."""
    case = create_case(units=[parties.municipality.id, parties.outsider.id])
    support.fire(db_session, registry, parties.region_user, case, "give_consent", now=now)
    login(client, parties.outsider_user.username)
    groups = _optgroups(text_of(client.get(f"/cases/{case.uid}")))
    assert groups == [
        "Blekingebolaget",
        "Abc Kalmar",
        "Alfa region i Kalmar län",
        "Katedralskolan",
    ]
