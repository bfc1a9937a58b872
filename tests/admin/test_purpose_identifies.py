"""The purpose of a person's look-up, loggutdrag, registerutdrag or change names nobody (people.identifying).

It is kept in the access log and printed in the extract of everyone the row concerns, so a personnummer or
samordningsnummer in it, and on the person's page a word of the person's name, is refused at the purpose
field, with every other refusal of the form at once: nothing is looked up, handed out, changed or logged,
and what was typed is kept.
"""

from __future__ import annotations

import html

import pytest
from sqlmodel import select
from webkit import csrf_token, forms_of, login, text_of

from sipflow.people.models import Person
from sipflow.security.audit import AccessLogEntry

pytestmark = pytest.mark.usefixtures("frozen_clock")

REFUSED = "Skriv inte personnummer eller namn i ändamålet"
OTHER_NUMBER = "200508239829"  # someone else's personnummer, valid


@pytest.fixture
def as_admin(client, make_user):
    assert login(client, make_user(None, roles="admin").username).status_code == 302
    return client


@pytest.fixture
def person(create_case, db_session) -> Person:
    return db_session.get(Person, create_case().person_id)


def log_count(db_session) -> int:
    db_session.expire_all()
    return len(db_session.exec(select(AccessLogEntry).where(AccessLogEntry.action != "case.create")).all())


def look_up(client, identifier: str, purpose: str):
    token = csrf_token(text_of(client.get("/admin/persons")))
    return client.post(
        "/admin/persons",
        data={"csrf_token": token, "id_kind": "personnummer", "identifier": identifier, "purpose": purpose},
    )


def field_errors(page: str, field: str) -> str:
    return (
        page[page.index(f'id="{field}-error"') :].split("</", 1)[0] if f'id="{field}-error"' in page else ""
    )


def test_a_look_up_refuses_a_personnummer_written_apart_in_the_purpose(as_admin, person, db_session):
    spaced = (
        f"{person.id_number[:4]} {person.id_number[4:6]} {person.id_number[6:8]} - {person.id_number[-4:]}"
    )
    purpose = f"Begäran från {spaced} om utdrag"
    response = look_up(as_admin, person.id_number, purpose)
    page = text_of(response)
    assert response.status_code == 400
    assert REFUSED in field_errors(page, "purpose")
    assert f'value="{html.escape(purpose)}"' in page and person.given_name not in page
    assert log_count(db_session) == 0


def test_a_look_up_refuses_the_identifier_and_the_purpose_at_once(as_admin, db_session):
    response = look_up(as_admin, "19900101-0018", f"Begäran {OTHER_NUMBER}")
    page = text_of(response)
    assert response.status_code == 400
    assert field_errors(page, "identifier") and REFUSED in field_errors(page, "purpose")
    # The form's own check (no identifier) and the purpose's at once too.
    response = look_up(as_admin, "", f"Begäran {OTHER_NUMBER}")
    assert response.status_code == 400 and REFUSED in field_errors(text_of(response), "purpose")
    assert log_count(db_session) == 0


ACTIONS = ["/admin/persons/loggutdrag", "/admin/persons/registerutdrag", "/admin/persons/particulars"]


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("purpose", ["Begäran via {given} {family}, psykos", f"Begäran via {OTHER_NUMBER}"])
def test_the_person_page_refuses_a_number_or_the_person_s_name_in_the_purpose(
    as_admin, person, db_session, action, purpose
):
    forms = forms_of(text_of(look_up(as_admin, person.id_number, "Personens begäran den 2 november")))
    before = log_count(db_session)
    typed = purpose.format(given=person.given_name, family=person.family_name.upper())
    data = {**dict(forms[action]), "purpose": typed}
    if action.endswith("particulars"):
        data["given_name"] = "Ändrat"
    response = as_admin.post(action, data=data)
    page = text_of(response)
    assert response.status_code == 400 and "Content-Disposition" not in response.headers
    section = page[page.index(f'action="{action}"') :].split("</form>", 1)[0]
    assert REFUSED in section and f'value="{html.escape(typed)}"' in section
    assert log_count(db_session) == before
    db_session.expire_all()
    assert db_session.get(Person, person.id).given_name == person.given_name


def test_a_change_refuses_the_new_name_in_the_purpose_with_the_particulars_at_once(
    as_admin, person, db_session
):
    forms = forms_of(text_of(look_up(as_admin, person.id_number, "Personens begäran den 2 november")))
    action = "/admin/persons/particulars"
    data = {
        **dict(forms[action]),
        "given_name": "Viktoria",
        "home_municipality_code": "9999",
        "purpose": "Namnbyte till Vi-ktoria",
    }
    page = text_of(as_admin.post(action, data=data))
    section = page[page.index(f'action="{action}"') :].split("</form>", 1)[0]
    assert REFUSED in section and "Okänd kommun" in section
    db_session.expire_all()
    assert db_session.get(Person, person.id).given_name == person.given_name


def test_a_plain_purpose_still_hands_out_the_extract(as_admin, person, db_session):
    forms = forms_of(text_of(look_up(as_admin, person.id_number, "Personens begäran den 2 november")))
    action = "/admin/persons/loggutdrag"
    response = as_admin.post(action, data={**dict(forms[action]), "file_format": "csv"})
    assert response.status_code == 200 and "Content-Disposition" in response.headers
