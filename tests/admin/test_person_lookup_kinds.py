"""The administration's person search asks for the kind chosen, as Ny SIP does, and a correction of the
particulars refuses an invisible character in the name (tester: a personnummer was found as a
samordningsnummer and as a reservnummer; "Gun\\u202eilla" was stored)."""

from __future__ import annotations

import html

import pytest
from sqlmodel import select
from webkit import csrf_token, forms_of, login, text_of

from sipflow.people.models import Person
from sipflow.security.audit import AccessLogEntry

pytestmark = pytest.mark.usefixtures("frozen_clock")

PURPOSE = "Personens begäran den 2 november"


@pytest.fixture
def as_admin(client, make_user):
    assert login(client, make_user(None, roles="admin").username).status_code == 302
    return client


@pytest.fixture
def person(create_case, db_session) -> Person:
    return db_session.get(Person, create_case().person_id)


def look_up(client, identifier: str, kind: str = "personnummer"):
    token = csrf_token(text_of(client.get("/admin/persons")))
    return client.post(
        "/admin/persons",
        data={"csrf_token": token, "id_kind": kind, "identifier": identifier, "purpose": PURPOSE},
    )


def lookups(db_session) -> int:
    db_session.expire_all()
    return len(db_session.exec(select(AccessLogEntry).where(AccessLogEntry.action == "person.lookup")).all())


def test_a_personnummer_is_found_as_one(as_admin, person):
    response = look_up(as_admin, person.id_number)
    assert response.status_code == 200 and f"{person.given_name} {person.family_name}" in text_of(response)


@pytest.mark.parametrize(
    ("kind", "spelling", "message"),
    [
        ("samordningsnummer", "dashed", "Numret är ett personnummer, inte ett samordningsnummer."),
        ("reservnummer", "compact", "Numret är ett personnummer, inte ett reservnummer: välj personnummer"),
        ("reservnummer", "dashed", "Numret är ett personnummer, inte ett reservnummer: välj personnummer"),
    ],
)
def test_a_personnummer_searched_as_another_kind_is_refused_at_the_field(
    as_admin, person, db_session, kind, spelling, message
):
    before = lookups(db_session)
    typed = person.id_number if spelling == "compact" else f"{person.id_number[:8]}-{person.id_number[8:]}"
    response = look_up(as_admin, typed, kind)
    page = html.unescape(text_of(response))
    assert response.status_code == 400
    assert 'id="identifier-error"' in page and message in page
    assert f"{person.given_name} {person.family_name}" not in page
    assert lookups(db_session) == before


@pytest.mark.parametrize("name", ["Gun\u202eilla", "Gun\u200billa", "Gun\u2067illa"])
def test_a_correction_refuses_an_invisible_character_in_the_name(as_admin, person, db_session, name):
    forms = forms_of(text_of(look_up(as_admin, person.id_number)))
    action = "/admin/persons/particulars"
    response = as_admin.post(action, data={**dict(forms[action]), "given_name": name, "purpose": PURPOSE})
    assert response.status_code == 400
    page = text_of(response)
    section = page[page.index(f'action="{action}"') :].split("</form>", 1)[0]
    assert 'id="given_name-error"' in section
    db_session.expire_all()
    assert db_session.get(Person, person.id).given_name == person.given_name
