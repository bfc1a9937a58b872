"""Ny SIP warns of a hidden open SIP only in the user's own county (testers: privacy, security).

The warning "Personen har en pågående SIP hos andra organisationer" told any staff member anywhere in Sweden
that a personnummer has an ongoing SIP (care needs). It is there to prevent parallel SIPs: it stays where one
is a real risk, a SIP with an organisation of the user's county taking part (or a national one, for a person
folkbokförd in the county), and a SIP the user sees is named as before. Every check that found an open SIP is
a logged look-up of the person (person.lookup), warned or not.
"""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import func, select
from support import new_person, new_unit, new_user, valid_personnummer
from webkit import FreshContextClient, fill, forms_of, login, text_of

from sipflow.cases import services
from sipflow.cases.models import SipCase
from sipflow.clock import now_utc
from sipflow.people.models import Organisation
from sipflow.security import audit
from sipflow.security.audit import AccessLogEntry

PERSON_BIRTH, PERSON_SERIAL = date(1982, 4, 9), 981
PERSON_PNR = valid_personnummer(PERSON_BIRTH, serial=PERSON_SERIAL)
OPEN_SIP_WARNING = "Personen har redan en pågående SIP"
HIDDEN_OPEN_SIP = "Personen har en pågående SIP hos andra organisationer"
VAXJO = "0780"  # Kronoberg (07)
KALMAR = "0880"  # Kalmar län (08)


def as_user(client, user):
    assert login(client, user.username).status_code == 302
    return client


def client_of(app, user):
    """A client of its own, logged in as user."""
    return as_user(FreshContextClient(app, app.response_class, use_cookies=True), user)


def staff_of(db_session, kind: str, name: str, **place):
    """A staff member of a new organisation of kind (county_code / municipality_code as given)."""
    unit = new_unit(db_session, kind, name, county_code=place.get("county_code"))
    if "municipality_code" in place:
        db_session.get(Organisation, unit.organisation_id).municipality_code = place["municipality_code"]
    user = new_user(db_session, unit)
    db_session.commit()
    return user


def new_case_data(client, **values):
    form = forms_of(text_of(client.get("/cases/new")))["/cases/new"]
    defaults = {
        "workflow_name": "sip",
        "identifier": PERSON_PNR,
        "given_name": "Vem",
        "family_name": "Som Helst",
        "home_municipality_code": VAXJO,
    }
    return fill(form, **(defaults | values))


def case_count(db_session) -> int:
    db_session.expire_all()
    return db_session.exec(select(func.count()).select_from(SipCase)).one()


def person_lookups(db_session) -> list[tuple]:
    db_session.expire_all()
    return db_session.exec(
        select(AccessLogEntry.user_id, AccessLogEntry.person_id)
        .where(AccessLogEntry.action == audit.PERSON_LOOKUP)
        .order_by(AccessLogEntry.seq)
    ).all()


@pytest.fixture
def person(db_session, app):
    """A person folkbokförd in Växjö (Kronoberg)."""
    registered = new_person(
        db_session,
        app.config["PNR_HASH_KEY"],
        now=now_utc(),
        birth=PERSON_BIRTH,
        serial=PERSON_SERIAL,
        municipality=VAXJO,
        given_name="Ida",
        family_name="Lind",
    )
    db_session.commit()
    return registered


def start(db_session, registry, actor, person, units=()):
    case = services.create_case(
        db_session, registry, actor, workflow_name="sip", person=person, unit_ids=list(units), now=now_utc()
    )
    db_session.commit()
    return case


@pytest.fixture
def kronobergs_case(db_session, registry, parties, person):
    """Her ongoing SIP, Region Kronoberg's with Växjö kommun taking part (all of county 07)."""
    return start(db_session, registry, parties.region_user, person, [parties.municipality.id])


def test_staff_of_another_county_are_not_told_of_the_sip_and_start_theirs(
    client, db_session, person, kronobergs_case
):
    kalmar = staff_of(db_session, "region", "Region Kalmar län", county_code="08")
    as_user(client, kalmar)
    response = client.post("/cases/new", data=new_case_data(client))
    # Ny SIP goes on as for a person without a SIP: nothing says that she has one.
    assert response.status_code == 303, text_of(response)
    assert HIDDEN_OPEN_SIP not in text_of(client.get(response.headers["Location"]))
    assert case_count(db_session) == 2
    # The check of her SIPs is a look-up of her all the same, in her loggutdrag.
    assert person_lookups(db_session) == [(kalmar.id, person.id)]


def test_staff_of_the_county_not_taking_part_are_still_warned(client, db_session, person, kronobergs_case):
    ljungby = staff_of(db_session, "other", "Vårdbolaget i Kronoberg", county_code="07")
    as_user(client, ljungby)
    response = client.post("/cases/new", data=new_case_data(client))
    assert response.status_code == 409
    html = text_of(response)
    assert HIDDEN_OPEN_SIP in html
    assert kronobergs_case.reference not in html and kronobergs_case.uid not in html
    assert case_count(db_session) == 1
    assert person_lookups(db_session) == [(ljungby.id, person.id)]


def test_a_municipality_without_a_county_of_its_own_is_in_its_municipalitys_county(
    app, db_session, registry, person
):
    """A Kronoberg municipality's SIP warns a Kronoberg company, not a Kalmar municipality."""
    alvesta = staff_of(db_session, "municipality", "Alvesta kommun", municipality_code="0764")
    start(db_session, registry, alvesta, person)
    kronoberg = client_of(app, staff_of(db_session, "other", "Bolaget", county_code="07"))
    assert kronoberg.post("/cases/new", data=new_case_data(kronoberg)).status_code == 409
    kalmar = client_of(app, staff_of(db_session, "municipality", "Kalmar kommun", municipality_code=KALMAR))
    assert kalmar.post("/cases/new", data=new_case_data(kalmar)).status_code == 303


def test_a_national_organisations_sip_warns_the_county_the_person_lives_in(app, db_session, registry, person):
    agency = staff_of(db_session, "other", "Försäkringskassan")
    start(db_session, registry, agency, person)
    kronoberg = client_of(app, staff_of(db_session, "region", "Region Kronoberg", county_code="07"))
    response = kronoberg.post("/cases/new", data=new_case_data(kronoberg))
    assert response.status_code == 409 and HIDDEN_OPEN_SIP in text_of(response)
    kalmar = client_of(app, staff_of(db_session, "region", "Region Kalmar län", county_code="08"))
    assert kalmar.post("/cases/new", data=new_case_data(kalmar)).status_code == 303


def test_a_sip_the_user_sees_is_named_whatever_its_county(client, db_session, registry, person):
    """The national agency's own SIP: it sees it, so it is warned with the link as before."""
    agency = staff_of(db_session, "other", "Försäkringskassan")
    own = start(db_session, registry, agency, person)
    as_user(client, agency)
    response = client.post("/cases/new", data=new_case_data(client))
    assert response.status_code == 409
    html = text_of(response)
    assert OPEN_SIP_WARNING in html and f'href="/cases/{own.uid}"' in html
    assert HIDDEN_OPEN_SIP not in html


def test_the_confirmation_holds_for_the_sips_warned_of(client, db_session, registry, parties, person):
    """A Kalmar SIP the Kronoberg user is not told of does not stop their confirmation of their own."""
    kalmar = staff_of(db_session, "region", "Region Kalmar län", county_code="08")
    start(db_session, registry, kalmar, person)
    own = start(db_session, registry, parties.region_user, person)
    as_user(client, parties.region_user)
    warned = client.post("/cases/new", data=new_case_data(client))
    assert warned.status_code == 409
    html = text_of(warned)
    assert f'href="/cases/{own.uid}"' in html and HIDDEN_OPEN_SIP not in html
    confirmed = client.post("/cases/new", data=fill(forms_of(html)["/cases/new"], confirm_open="y"))
    assert confirmed.status_code == 303
    assert case_count(db_session) == 3


def test_a_national_agency_is_warned_of_a_sip_it_takes_part_in_alone(
    app, db_session, registry, parties, person
):
    """Försäkringskassan (no county, as the demo's Petra): told of a SIP it is invited to, not of others."""
    taking_part = staff_of(db_session, "other", "Försäkringskassan")
    elsewhere = staff_of(db_session, "other", "Arbetsförmedlingen")
    # Region Kronoberg's SIP with the agency taking part, no consent yet: hidden from the agency's staff.
    start(db_session, registry, parties.region_user, person, [taking_part.unit_id])
    invited = client_of(app, taking_part)
    response = invited.post("/cases/new", data=new_case_data(invited))
    assert response.status_code == 409 and HIDDEN_OPEN_SIP in text_of(response)
    stranger = client_of(app, elsewhere)
    assert stranger.post("/cases/new", data=new_case_data(stranger)).status_code == 303
    assert [user_id for user_id, _ in person_lookups(db_session)] == [taking_part.id, elsewhere.id]
