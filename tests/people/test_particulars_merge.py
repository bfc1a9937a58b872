"""A stale save of a person's particulars is merged field by field, as the plan editor's is (plans.merge).

Two users open the particulars form; one saves. The other's save from the old page is answered 409 with the
form merged: a field they left as it was takes the change made meanwhile (noted), a field only they changed
keeps what they typed, a field both changed differently keeps theirs with what it is now beside it. Saved
again, nothing the first user changed is undone unseen.
"""

from __future__ import annotations

import html
from datetime import date

import pytest
from sqlmodel import select
from support import new_person, valid_personnummer
from webkit import FreshContextClient, fill, forms_of, login, text_of

from sipflow.cases import services
from sipflow.cases.scripted import fire_scripted
from sipflow.clock import now_utc
from sipflow.people.models import Municipality, Person

BIRTH, SERIAL = date(1958, 6, 2), 318
PNR = valid_personnummer(BIRTH, serial=SERIAL)
VAXJO, ALVESTA, ALMHULT = "0780", "0764", "0765"
TAKEN_IN = "Ändrat av någon annan under tiden."
MERGED = "Någon annan ändrade personens uppgifter medan du arbetade."


def as_user(client, user):
    assert login(client, user.username).status_code == 302
    return client


def particulars(db_session, person_id) -> tuple[str, str, str]:
    db_session.expire_all()
    person = db_session.get(Person, person_id)
    return person.given_name, person.family_name, person.home_municipality_code


def municipality_name(db_session, code) -> str:
    return db_session.exec(select(Municipality.name).where(Municipality.code == code)).one()


@pytest.fixture
def greta(db_session, app):
    person = new_person(
        db_session,
        app.config["PNR_HASH_KEY"],
        now=now_utc(),
        birth=BIRTH,
        serial=SERIAL,
        municipality=VAXJO,
        given_name="Greta",
        family_name="Ek",
    )
    db_session.commit()
    return person


@pytest.fixture
def gretas_case(db_session, registry, parties, greta):
    """Her SIP, started by the region with the municipality taking part, consent given."""
    case = services.create_case(
        db_session,
        registry,
        parties.region_user,
        workflow_name="sip",
        person=greta,
        unit_ids=[parties.municipality.id],
        now=now_utc(),
    )
    db_session.commit()
    fire_scripted(db_session, registry, parties.region_user, case, "give_consent", now=now_utc())
    db_session.commit()
    return case


@pytest.fixture
def two_clients(client, app, parties):
    other = FreshContextClient(app, app.response_class, use_cookies=True)
    return as_user(client, parties.region_user), as_user(other, parties.municipality_user)


def form_at(client, url: str) -> list[tuple[str, str]]:
    page = client.get(url)
    assert page.status_code == 200
    return forms_of(text_of(page))[url]


def test_a_field_left_as_shown_takes_the_change_made_meanwhile(db_session, greta, gretas_case, two_clients):
    """A changes the family name; B, on an old page, the kommun: B's save must not restore "Ek"."""
    first, second = two_clients
    url = f"/cases/{gretas_case.uid}/person"
    page_a, page_b = form_at(first, url), form_at(second, url)
    assert first.post(url, data=fill(page_a, family_name="Ek-Lund")).status_code == 303
    stale = second.post(url, data=fill(page_b, home_municipality_code=ALVESTA))
    assert stale.status_code == 409
    assert particulars(db_session, greta.id) == ("Greta", "Ek-Lund", VAXJO)
    text = html.unescape(text_of(stale))
    assert MERGED in text and TAKEN_IN in text
    again = forms_of(text_of(stale))[url]
    assert ("family_name", "Ek-Lund") in again and ("home_municipality_code", ALVESTA) in again
    assert second.post(url, data=fill(again)).status_code == 303
    assert particulars(db_session, greta.id) == ("Greta", "Ek-Lund", ALVESTA)


def test_a_field_both_changed_keeps_what_was_typed_and_says_what_it_is_now(
    db_session, greta, gretas_case, two_clients
):
    first, second = two_clients
    url = f"/cases/{gretas_case.uid}/person"
    page_a, page_b = form_at(first, url), form_at(second, url)
    assert (
        first.post(url, data=fill(page_a, given_name="Gretha", home_municipality_code=ALVESTA)).status_code
        == 303
    )
    stale = second.post(url, data=fill(page_b, given_name="Margareta", home_municipality_code=ALMHULT))
    assert stale.status_code == 409
    text = html.unescape(text_of(stale))
    assert "Ändrat av någon annan till Gretha; du skrev Margareta." in text
    alvesta, almhult = municipality_name(db_session, ALVESTA), municipality_name(db_session, ALMHULT)
    assert f"Ändrat av någon annan till {alvesta}; du skrev {almhult}." in text
    assert TAKEN_IN not in text
    again = forms_of(text_of(stale))[url]
    assert ("given_name", "Margareta") in again and ("home_municipality_code", ALMHULT) in again
    assert particulars(db_session, greta.id) == ("Gretha", "Ek", ALVESTA)
    # Sent again, it is a choice: what they typed is saved.
    assert second.post(url, data=fill(again)).status_code == 303
    assert particulars(db_session, greta.id) == ("Margareta", "Ek", ALMHULT)


def test_the_page_carries_hashes_not_the_particulars(greta, gretas_case, two_clients):
    first, _second = two_clients
    [shown] = [v for k, v in form_at(first, f"/cases/{gretas_case.uid}/person") if k == "shown"]
    assert "Greta" not in shown and "Ek" not in shown and VAXJO not in shown
    assert len(shown.split(".")) == 3


def test_the_administrators_person_page_merges_too(
    client, app, make_user, db_session, parties, greta, gretas_case
):
    admin = as_user(client, make_user(None, roles="admin"))
    lookup = forms_of(text_of(admin.get("/admin/persons")))["/admin/persons"]
    found = admin.post("/admin/persons", data=fill(lookup, identifier=PNR, purpose="Rättelse"))
    page_admin = forms_of(text_of(found))["/admin/persons/particulars"]
    staff = as_user(FreshContextClient(app, app.response_class, use_cookies=True), parties.region_user)
    url = f"/cases/{gretas_case.uid}/person"
    assert staff.post(url, data=fill(form_at(staff, url), family_name="Ek-Lund")).status_code == 303
    stale = admin.post(
        "/admin/persons/particulars",
        data=fill(page_admin, home_municipality_code=ALVESTA, purpose="Flytt enligt Skatteverket"),
    )
    assert stale.status_code == 409
    assert TAKEN_IN in html.unescape(text_of(stale))
    again = forms_of(text_of(stale))["/admin/persons/particulars"]
    assert ("family_name", "Ek-Lund") in again
    assert admin.post("/admin/persons/particulars", data=fill(again)).status_code == 200
    assert particulars(db_session, greta.id) == ("Greta", "Ek-Lund", ALVESTA)


@pytest.mark.parametrize("shown", ["ö", "abc", "0" * 32])
def test_a_digest_this_page_never_gave_is_a_conflict_keeping_what_was_typed(
    db_session, greta, gretas_case, two_clients, shown
):
    first, _second = two_clients
    url = f"/cases/{gretas_case.uid}/person"
    response = first.post(url, data=fill(form_at(first, url), shown=shown, family_name="Ek-Lund"))
    assert response.status_code == 409
    assert ("family_name", "Ek-Lund") in forms_of(text_of(response))[url]
    assert particulars(db_session, greta.id) == ("Greta", "Ek", VAXJO)
