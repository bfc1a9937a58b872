"""Two organisations of one name on one SIP: Kronoberg's own registration of Försäkringskassan (its Växjö
office) takes part, and is deactivated when the national Försäkringskassan takes the name (a deactivated
organisation's name is free); the person's handläggare moved to the national one's Kalmar office, which joins
the SIP. (Two active namesakes, made before names had to differ, are told apart the same way.) Consent covers
organisations: where one is ticked, chosen or listed as covered, the two are told apart by where they are
(`people.labels.organisation_labels`), not named "Försäkringskassan" twice, so staff record the consent the
person gave for the office they named."""

from __future__ import annotations

import re

import pytest
import support
from webkit import login, text_of

from sipflow.areas import load_areas
from sipflow.cases import services
from sipflow.db import unit_of_work
from sipflow.people.models import Organisation

load_areas()

pytestmark = pytest.mark.usefixtures("frozen_clock")

KRONOBERG_FK = "Försäkringskassan (Kronobergs län)"
NATIONAL_FK = "Försäkringskassan (hela landet)"
KALMAR_FK = "Försäkringskassan (Kalmar län)"


@pytest.fixture
def two_offices(db_session, parties, make_unit):
    """Kronoberg's Försäkringskassan (the parties' outsider, Växjö office) and the national one's Kalmar
    office."""
    return support.national_namesake_of_the_outsider(db_session, parties, make_unit)


def _labels(html: str, name: str) -> list[str]:
    """The labels of the inputs named name, in page order."""
    ids = re.findall(rf'<input[^>]*id="([^"]+)"[^>]*name="{name}"', html)
    ids += re.findall(rf'<input[^>]*name="{name}"[^>]*id="([^"]+)"', html)
    found = {i: re.search(rf'<label for="{i}">([^<]*)</label>', html).group(1).strip() for i in ids}
    return [found[i] for i in sorted(found, key=html.index)]


def test_the_consent_step_tells_the_two_apart(client, db_session, parties, create_case, two_offices):
    case = create_case(units=[parties.municipality.id, parties.outsider.id, two_offices.id])
    support.deactivate_with_organisation(db_session, parties.outsider)
    login(client, parties.region_user.username)
    page = text_of(client.get(f"/cases/{case.uid}"))
    labels = _labels(page, "give_consent-organisation_ids")
    assert KRONOBERG_FK in labels and NATIONAL_FK in labels
    assert "Försäkringskassan" not in labels


def test_a_further_consent_and_the_consent_table_tell_the_two_apart(
    client, db_session, registry, now, parties, create_case, two_offices
):
    case = create_case(units=[parties.municipality.id, parties.outsider.id])
    support.fire(db_session, registry, parties.region_user, case, "give_consent", now=now)
    login(client, parties.region_user.username)
    page = text_of(client.get(f"/cases/{case.uid}/consent/further"))
    assert KRONOBERG_FK not in page  # only one Försäkringskassan on the SIP yet: its name is enough
    with unit_of_work(db_session):  # the Kalmar office joins the SIP
        services.add_unit_participant(db_session, registry, case, two_offices.id, now=now)
    support.deactivate_with_organisation(db_session, parties.outsider)
    page = text_of(client.get(f"/cases/{case.uid}/consent/further"))
    labels = _labels(page, "consent-organisation_ids")
    assert KRONOBERG_FK in labels and NATIONAL_FK in labels
    assert f"{KRONOBERG_FK}, till och med" in page  # covered already: the Kronoberg one
    withdraw = text_of(client.get(f"/cases/{case.uid}/consent/withdraw-organisation"))
    assert f"{KRONOBERG_FK} (till och med" in withdraw
    detail = text_of(client.get(f"/cases/{case.uid}"))
    consents = detail[detail.index("Organisationer som omfattas") :]
    assert KRONOBERG_FK in consents[: consents.index("</table>")]


def test_the_unit_picker_names_the_other_county_apart_from_the_one_taking_part(
    client, db_session, parties, create_case, two_offices
):
    """Kronoberg's Försäkringskassan takes part; an active namesake of Kalmar län (made before names had to
    differ), offered, is named by its county."""
    db_session.get(Organisation, two_offices.organisation_id).county_code = "08"
    db_session.commit()
    case = create_case(units=[parties.municipality.id, parties.outsider.id])
    login(client, parties.region_user.username)
    page = text_of(client.get(f"/cases/{case.uid}"))
    picker = page[page.index('name="unit-unit_id"') :]
    picker = picker[: picker.index("</select>")]
    assert f'<optgroup label="{KALMAR_FK}">' in picker
    assert f'<option value="{two_offices.id}">{KALMAR_FK}, Försäkringskassan Kalmar</option>' in picker
