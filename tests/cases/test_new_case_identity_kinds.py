"""Ny SIP and the person services keep the kinds of identifier apart and refuse invisible characters in
a person's name (tester: a reservnummer equal to Viktoria's personnummer started a SIP under her; a name
holding a right-to-left override was stored and printed)."""

from __future__ import annotations

import html as html_module
from datetime import date

import pytest
from sqlmodel import func, select
from support import valid_personnummer
from webkit import fill, forms_of, login, text_of

from sipflow.cases.models import SipCase
from sipflow.clock import now_utc
from sipflow.errors import InvalidInput
from sipflow.people.identifiers import RESERVNUMMER, PersonIdentifier, parse_identifier
from sipflow.people.models import Person
from sipflow.people.services import find_or_register_person, find_person, register_person

pytestmark = pytest.mark.usefixtures("frozen_clock")

VIKTORIA_PNR = valid_personnummer(date(1961, 3, 14), serial=274)
VAXJO = "0780"


def count(db_session, model) -> int:
    db_session.expire_all()
    return db_session.exec(select(func.count()).select_from(model)).one()


@pytest.fixture
def viktoria(db_session, app):
    now = now_utc()
    person = register_person(
        db_session,
        app.config["PNR_HASH_KEY"],
        parse_identifier(VIKTORIA_PNR, today=now.date()),
        given_name="Viktoria",
        family_name="Ek",
        home_municipality_code=VAXJO,
        now=now,
    )
    db_session.commit()
    return person


def new_case(client, parties, **values):
    assert login(client, parties.region_user.username).status_code == 302
    form = forms_of(text_of(client.get("/cases/new")))["/cases/new"]
    defaults = {
        "workflow_name": "sip",
        "id_kind": "personnummer",
        "identifier": VIKTORIA_PNR,
        "given_name": "Olle",
        "family_name": "Reservsson",
        "home_municipality_code": VAXJO,
    }
    return client.post("/cases/new", data=fill(form, **(defaults | values)))


@pytest.mark.parametrize("typed", [VIKTORIA_PNR.replace("-", ""), VIKTORIA_PNR])
def test_a_personnummer_typed_as_a_reservnummer_is_refused_at_the_field(
    client, parties, viktoria, db_session, typed
):
    response = new_case(client, parties, id_kind="reservnummer", identifier=typed)
    assert response.status_code == 400
    page = html_module.unescape(text_of(response))
    assert 'id="identifier-error"' in page
    assert "Numret är ett personnummer, inte ett reservnummer" in page
    assert "Olle" in page  # what was typed is kept
    assert count(db_session, SipCase) == 0 and count(db_session, Person) == 1


def test_a_lookup_never_meets_a_person_of_another_kind(db_session, app, viktoria):
    # Even a reservnummer made without the parser (an import, an old row) does not find her.
    same_value = PersonIdentifier(
        kind=RESERVNUMMER, value=viktoria.id_number, birth_date=None, legal_sex="unknown"
    )
    assert find_person(db_session, app.config["PNR_HASH_KEY"], same_value) is None
    now = now_utc()
    with pytest.raises(InvalidInput) as refused:
        find_or_register_person(
            db_session,
            app.config["PNR_HASH_KEY"],
            same_value,
            given_name="Olle",
            family_name="Reservsson",
            home_municipality_code=VAXJO,
            now=now,
        )
    assert refused.value.field == "identifier"
    db_session.rollback()
    assert count(db_session, Person) == 1


@pytest.mark.parametrize(
    ("names", "field"),
    [
        ({"given_name": "Evil\u202eSSON"}, "given_name"),
        ({"family_name": "Bidi\u200bTest"}, "family_name"),
        ({"given_name": "Ann\u2066a"}, "given_name"),
        ({"family_name": "Ek\u00adlund"}, "family_name"),
    ],
)
def test_ny_sip_refuses_an_invisible_character_in_the_name_at_its_field(
    client, parties, db_session, names, field
):
    response = new_case(client, parties, **names)
    assert response.status_code == 400
    assert f'id="{field}-error"' in text_of(response)
    assert count(db_session, SipCase) == 0 and count(db_session, Person) == 0


def test_both_names_are_refused_at_once_by_the_service_whoever_calls_it(db_session, app):
    now = now_utc()
    with pytest.raises(InvalidInput) as refused:
        register_person(
            db_session,
            app.config["PNR_HASH_KEY"],
            parse_identifier(VIKTORIA_PNR, today=now.date()),
            given_name="Evil\u202eSSON",
            family_name="Bidi\u200bTest",
            home_municipality_code=VAXJO,
            now=now,
        )
    assert sorted(error.field for error in refused.value.errors) == ["family_name", "given_name"]


def test_a_name_with_the_joiners_scripts_need_is_still_taken(db_session, app):
    now = now_utc()
    person = register_person(
        db_session,
        app.config["PNR_HASH_KEY"],
        parse_identifier(VIKTORIA_PNR, today=now.date()),
        given_name="Mehr\u200cnaz",
        family_name="Ek",
        home_municipality_code=VAXJO,
        now=now,
    )
    assert person.given_name == "Mehr\u200cnaz"
