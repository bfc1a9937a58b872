"""Measures by others than region and municipality (legal item 3): an effort owned by an agency taking part
(Arbetsförmedlingen, an organisation of kind "other") is one, in the PDF, on the version page and for the
guard, as much as a measure by a non-participant written as one."""

from __future__ import annotations

import subprocess
from datetime import timedelta

import pytest
import support
from plankit import complete_data, give_huvudansvar, save, walk
from webkit import login, text_of

from sipflow.clock import now_utc
from sipflow.plans.services import find_plan
from sipflow.plans.versions import find_version

pytestmark = pytest.mark.usefixtures("frozen_clock")

AGENCY = "Arbetsförmedlingen"
AGENCY_EFFORT = "Arbetsträning på Navet"


@pytest.fixture
def agency_case(db_session, registry, parties, create_case, make_unit):
    """A SIP at its held meeting with Arbetsförmedlingen taking part; its plan lists an effort of theirs."""
    agency = make_unit("other", AGENCY)
    case = walk(
        db_session,
        registry,
        parties.region_user,
        create_case(units=[parties.municipality.id, agency.id]),
        now_utc(),
    )
    data = complete_data(case, parties, now_utc())
    # Nothing is written as a measure by a non-participant: the agency's effort is the plan's own row.
    data["efforts"] = [e for e in data["efforts"] if e["kind"] != "other"] + [
        {
            "kind": "effort",
            "what": AGENCY_EFFORT,
            "organisation_id": agency.organisation_id,
            "responsible": "Lena Holm",
            "status": "planned",
        }
    ]
    save(db_session, case, parties.region_user, data, now_utc())
    give_huvudansvar(db_session, case, parties.region_user, parties.region.organisation_id, now_utc())
    return case


def establish(db_session, registry, parties, case) -> None:
    """Establish the plan as saved: "no measures by others" is not ticked, nor is one written as such."""
    plan = find_plan(db_session, case)
    assert not plan.no_other_measures
    data = {"plan_row_version": plan.row_version}
    support.fire(db_session, registry, parties.region_user, case, "establish_plan", now=now_utc(), data=data)


def others_section(data: bytes, tmp_path) -> str:
    """The PDF's "Insatser av andra" section, whitespace runs made single spaces."""
    source = tmp_path / "plan.pdf"
    source.write_bytes(data)
    text = " ".join(
        subprocess.run(["pdftotext", str(source), "-"], capture_output=True, text=True).stdout.split()
    )
    start = text.index("Insatser av andra")
    return text[start : text.index("Ansvar och kontakter", start)]


def test_an_agencys_effort_is_a_measure_by_others_in_the_pdf(
    db_session, registry, parties, agency_case, tmp_path
):
    # The agency's effort states the measures by others: the step asks for nothing more.
    establish(db_session, registry, parties, agency_case)
    version = find_version(db_session, agency_case)
    section = others_section(version.pdf, tmp_path)
    assert f"{AGENCY}: {AGENCY_EFFORT}" in section
    assert "Inga." not in section


def test_the_version_page_lists_the_agencys_effort_among_the_measures_by_others(
    client, db_session, registry, parties, agency_case, frozen_clock
):
    establish(db_session, registry, parties, agency_case)
    frozen_clock.advance(timedelta(minutes=1))
    assert login(client, parties.region_user.username).status_code == 302
    page = text_of(client.get(f"/cases/{agency_case.uid}/plan/versions/1"))
    # The main table shows it as a row; the list of measures by others as an item of its own.
    assert f'<li>{AGENCY}: <span class="prose">{AGENCY_EFFORT}</span></li>' in page


# An independent school (friskola) -------------------------------------------------------------------------

FRISKOLA = "Lärande Friskola AB"
FRISKOLA_EFFORT = "Anpassad studiegång och samtal med skolkurator"


@pytest.fixture
def friskola_case(db_session, registry, parties, create_case, make_unit):
    """A SIP at its held meeting with an independent school taking part, placed in Växjö (an organisation of
    kind "friskola": its huvudman is neither the region nor the municipality); its plan lists an effort of
    the school's."""
    school = make_unit("friskola", FRISKOLA)
    case = walk(
        db_session,
        registry,
        parties.region_user,
        create_case(units=[parties.municipality.id, school.id]),
        now_utc(),
    )
    data = complete_data(case, parties, now_utc())
    data["efforts"] = [e for e in data["efforts"] if e["kind"] != "other"] + [
        {
            "kind": "effort",
            "what": FRISKOLA_EFFORT,
            "organisation_id": school.organisation_id,
            "responsible": "Nils Åberg, kurator",
            "status": "planned",
        }
    ]
    save(db_session, case, parties.region_user, data, now_utc())
    give_huvudansvar(db_session, case, parties.region_user, parties.region.organisation_id, now_utc())
    return case


def test_an_independent_schools_effort_is_a_measure_by_others(
    client, db_session, registry, parties, friskola_case, frozen_clock, tmp_path
):
    """SoL 2 kap. 7 § item 3: a friskola is someone other than the municipality and the region, so its effort
    is a measure by others (a municipal school's is the municipality's own)."""
    establish(db_session, registry, parties, friskola_case)
    version = find_version(db_session, friskola_case)
    assert f"{FRISKOLA}: {FRISKOLA_EFFORT}" in others_section(version.pdf, tmp_path)
    frozen_clock.advance(timedelta(minutes=1))
    assert login(client, parties.region_user.username).status_code == 302
    page = text_of(client.get(f"/cases/{friskola_case.uid}/plan/versions/1"))
    assert f'<li>{FRISKOLA}: <span class="prose">{FRISKOLA_EFFORT}</span></li>' in page
