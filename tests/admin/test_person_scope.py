"""An administrator finds, hands extracts of and corrects only the persons of their region.

Kronoberg (county 07) holds the persons folkbokförda in its municipalities and those with a SIP one of its
organisations initiated or takes part in; Stockholm's administrator (county 01) and Försäkringskassan's
(an organisation of no county) hold the persons of their own SIPs only; a national administrator holds
everyone. A person outside the region is to the administrator as one never registered.
"""

from __future__ import annotations

import pytest
from sqlmodel import select
from support import new_case
from webkit import FreshContextClient, fill, forms_of, login, text_of

from sipflow.admin import services
from sipflow.admin.regions import admin_region, may_administer_person
from sipflow.cases.models import Participant
from sipflow.db import unit_of_work
from sipflow.people.models import Person, Unit
from sipflow.security import audit
from sipflow.security.audit import AccessLogEntry

pytestmark = pytest.mark.usefixtures("frozen_clock")

NOBODY = "Ingen person med det identitetsnumret finns registrerad i sipflow."
STOCKHOLM_MUNICIPALITY = "0180"
EXTRACTS = ["/admin/persons/loggutdrag", "/admin/persons/registerutdrag"]


@pytest.fixture
def stockholm(make_unit) -> Unit:
    return make_unit("other", "Region Stockholm", county_code="01")


@pytest.fixture
def fk(make_unit) -> Unit:
    return make_unit("other", "Försäkringskassan", county_code=None)


@pytest.fixture
def admins(make_user, parties, stockholm, fk):
    """The administrators, by their region."""
    return {
        "national": make_user(None, roles="admin"),
        "kronoberg": make_user(parties.region, roles="admin"),
        "stockholm": make_user(stockholm, roles="admin"),
        "fk": make_user(fk, roles="admin"),
    }


def client_of(app, user):
    client = FreshContextClient(app, app.response_class, use_cookies=True)
    assert login(client, user.username).status_code == 302
    return client


def find(client, person: Person):
    lookup = forms_of(text_of(client.get("/admin/persons")))["/admin/persons"]
    return client.post("/admin/persons", data=fill(lookup, identifier=person.id_number, purpose="Begäran"))


def log_rows(db_session) -> list[AccessLogEntry]:
    db_session.expire_all()
    return list(db_session.exec(select(AccessLogEntry).order_by(AccessLogEntry.seq)).all())


def may(db_session, admin, person) -> bool:
    return may_administer_person(db_session, admin_region(db_session, admin), person)


@pytest.fixture
def kronoberg_person(create_case, db_session) -> Person:
    """Folkbokförd in Växjö, with a SIP Region Kronoberg initiated and Växjö kommun takes part in."""
    return db_session.get(Person, create_case().person_id)


@pytest.mark.parametrize("who", ["stockholm", "fk"])
def test_another_regions_administrator_finds_nobody_and_the_refusal_is_logged(
    app, admins, kronoberg_person, db_session, who
):
    client = client_of(app, admins[who])
    refused = find(client, kronoberg_person)
    assert refused.status_code == 404
    html = text_of(refused)
    assert NOBODY in html and "Testa Person" not in html
    assert not any(action in forms_of(html) for action in [*EXTRACTS, "/admin/persons/particulars"])
    # Exactly what a never registered identifier gets: the same page, with the same forms.
    unknown = client.post(
        "/admin/persons",
        data=fill(
            forms_of(text_of(client.get("/admin/persons")))["/admin/persons"],
            identifier="19121212-1212",
            purpose="Begäran",
        ),
    )
    assert unknown.status_code == 404 and forms_of(text_of(unknown)).keys() == forms_of(html).keys()
    refusal, search = log_rows(db_session)[-2:]
    assert (refusal.action, refusal.outcome, refusal.person_id, refusal.user_id) == (
        audit.PERSON_LOOKUP,
        audit.DENIED,
        kronoberg_person.id,
        admins[who].id,
    )
    # The search for a number nobody has is logged too, naming nobody.
    assert (search.action, search.outcome, search.person_id, search.user_id) == (
        audit.PERSON_LOOKUP,
        audit.NOT_FOUND,
        None,
        admins[who].id,
    )


@pytest.mark.parametrize("who", ["national", "kronoberg"])
def test_the_own_countys_and_a_national_administrator_find_the_person_and_the_extract(
    app, admins, kronoberg_person, db_session, who
):
    client = client_of(app, admins[who])
    found = find(client, kronoberg_person)
    assert found.status_code == 200 and "Testa Person" in text_of(found)
    forms = forms_of(text_of(found))
    extract = client.post(EXTRACTS[1], data=fill(forms[EXTRACTS[1]], purpose="Begäran enligt art. 15"))
    assert extract.status_code == 200 and kronoberg_person.id_number.encode() in extract.data


def test_an_organisation_without_county_finds_the_persons_of_the_sips_it_takes_part_in(
    app, admins, create_case, parties, fk, db_session
):
    case = create_case(units=[parties.municipality.id, fk.id])
    person = db_session.get(Person, case.person_id)
    assert find(client_of(app, admins["fk"]), person).status_code == 200
    assert may(db_session, admins["fk"], person) and not may(db_session, admins["stockholm"], person)


def test_an_organisation_without_county_finds_the_persons_of_the_sips_it_initiated(
    admins, registry, make_person, make_user, fk, parties, db_session, now
):
    person = make_person(municipality=STOCKHOLM_MUNICIPALITY)
    assert not may(db_session, admins["fk"], person)
    new_case(
        db_session,
        registry,
        make_user(fk),
        workflow="sip",
        person=person,
        unit_ids=[parties.municipality.id],
        now=now,
    )
    db_session.commit()
    assert may(db_session, admins["fk"], person)


def test_a_countys_administrator_holds_those_folkbokforda_or_with_a_sip_of_the_county(
    admins, registry, make_person, make_user, stockholm, parties, db_session, now
):
    # Folkbokförd in Stockholm, no SIP: Stockholm's, not Kronoberg's or Försäkringskassan's.
    person = make_person(municipality=STOCKHOLM_MUNICIPALITY)
    assert may(db_session, admins["stockholm"], person) and may(db_session, admins["national"], person)
    assert not may(db_session, admins["kronoberg"], person) and not may(db_session, admins["fk"], person)
    # A SIP Stockholm initiated with Växjö kommun (Kronoberg) taking part: Kronoberg's too.
    case = new_case(
        db_session,
        registry,
        make_user(stockholm),
        workflow="sip",
        person=person,
        unit_ids=[parties.municipality.id],
        now=now,
    )
    db_session.commit()
    assert may(db_session, admins["kronoberg"], person) and not may(db_session, admins["fk"], person)
    # Växjö kommun taken off the SIP: no longer.
    for p in case_participants(db_session, case):
        if p.unit_id == parties.municipality.id:
            p.removed_at = now
            db_session.add(p)
    db_session.commit()
    assert not may(db_session, admins["kronoberg"], person)


def case_participants(db_session, case):
    return db_session.exec(select(Participant).where(Participant.case_id == case.id)).all()


@pytest.fixture
def moved_away(app, admins, make_person, db_session):
    """Kronoberg's administrator's forms for a person of Växjö without a SIP, who then moves to Stockholm."""
    person = make_person()
    client = client_of(app, admins["kronoberg"])
    found = find(client, person)
    assert found.status_code == 200
    person.home_municipality_code = STOCKHOLM_MUNICIPALITY
    db_session.add(person)
    db_session.commit()
    return client, forms_of(text_of(found)), person


@pytest.mark.parametrize("action", EXTRACTS)
def test_no_extract_of_a_person_outside_the_region(moved_away, db_session, action):
    client, forms, person = moved_away
    before = len(log_rows(db_session))
    response = client.post(action, data=fill(forms[action], purpose="Begäran"))
    # As a reference no longer valid: back to the search, nothing handed out, nothing logged.
    assert response.status_code == 302 and response.headers["Location"] == "/admin/persons"
    assert "Content-Disposition" not in response.headers
    assert person.id_number.encode() not in response.data
    assert len(log_rows(db_session)) == before


def test_no_change_of_the_particulars_of_a_person_outside_the_region(moved_away, db_session):
    client, forms, person = moved_away
    before = len(log_rows(db_session))
    response = client.post(
        "/admin/persons/particulars",
        data=fill(forms["/admin/persons/particulars"], given_name="Ändrad", purpose="Rättelse"),
    )
    assert response.status_code == 302 and response.headers["Location"] == "/admin/persons"
    # Nor does a form left incomplete show the person's page.
    incomplete = client.post("/admin/persons/particulars", data=fill(forms["/admin/persons/particulars"]))
    assert incomplete.status_code == 302 and "Testa" not in text_of(incomplete)
    db_session.expire_all()
    assert db_session.get(Person, person.id).given_name == "Testa"
    assert len(log_rows(db_session)) == before


def test_the_services_refuse_a_person_outside_the_region_whoever_calls_them(
    admins, kronoberg_person, db_session, now
):
    actor = admins["fk"]
    calls = [
        lambda: services.person_register_extract(db_session, actor, kronoberg_person, purpose="x", now=now),
        lambda: services.person_log_extract(
            db_session, actor, kronoberg_person, file_format="csv", purpose="x", now=now
        ),
        lambda: services.change_person_particulars(
            db_session,
            actor,
            kronoberg_person,
            given_name="Ändrad",
            family_name="Person",
            home_municipality_code="0780",
            purpose="x",
            now=now,
        ),
    ]
    before = len(log_rows(db_session))
    for call in calls:
        with pytest.raises(services.UnknownPerson), unit_of_work(db_session):
            call()
    assert len(log_rows(db_session)) == before
    db_session.expire_all()
    assert db_session.get(Person, kronoberg_person.id).given_name == "Testa"
    assert services.administered_person(db_session, actor, kronoberg_person.id) is None
    assert services.administered_person(db_session, admins["kronoberg"], kronoberg_person.id) is not None
