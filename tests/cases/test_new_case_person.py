"""Ny SIP for a person already registered, and changing a person's particulars as an action of its own.

Issue 14, defect 1: starting a SIP never changes the person; a second open SIP is started only after a
warning; a change of name or folkbokföringskommun is its own logged action, for those who may make it.
Defect 5 (first item): an identifier kind outside the list is a field error, not a server error.
"""

from __future__ import annotations

import logging
import re
from datetime import date

import pytest
import support
from sqlmodel import func, select
from support import personnummer_in, valid_personnummer
from webkit import FreshContextClient, csrf_token, fill, forms_of, login, text_of
from werkzeug.datastructures import MultiDict

from sipflow.cases import services
from sipflow.cases.models import SipCase
from sipflow.cases.scripted import fire_scripted
from sipflow.clock import now_utc
from sipflow.errors import InvalidInput, NotAllowed
from sipflow.people import services as people_services
from sipflow.people.identifiers import parse_identifier
from sipflow.people.models import Person
from sipflow.people.services import change_person_particulars, find_or_register_person, register_person
from sipflow.security import audit
from sipflow.security.audit import AccessLogEntry
from sipflow.security.extract import extract_rows

VIKTORIA_PNR = valid_personnummer(date(1961, 3, 14), serial=274)
ALREADY_REGISTERED = "Personen är redan registrerad i sipflow."
OPEN_SIP_WARNING = "Personen har redan en pågående SIP"
HIDDEN_OPEN_SIP = "Personen har en pågående SIP hos andra organisationer"
ALVESTA = "0764"
VAXJO = "0780"


# --- Helpers and fixtures --------------------------------------------------------------------------------


def as_user(client, user):
    assert login(client, user.username).status_code == 302
    return client


def count(db_session, model) -> int:
    db_session.expire_all()
    return db_session.exec(select(func.count()).select_from(model)).one()


def reload(db_session, model, key):
    db_session.expire_all()
    return db_session.get(model, key)


def register_viktoria(db_session, app, given_name: str, family_name: str, municipality: str):
    """find_or_register_person for Viktoria's personnummer with these particulars, now."""
    now = now_utc()
    return find_or_register_person(
        db_session,
        app.config["PNR_HASH_KEY"],
        parse_identifier(VIKTORIA_PNR, today=now.date()),
        given_name=given_name,
        family_name=family_name,
        home_municipality_code=municipality,
        now=now,
    )


def log_rows(db_session, action: str | None = None) -> list[AccessLogEntry]:
    db_session.expire_all()
    rows = db_session.exec(select(AccessLogEntry).order_by(AccessLogEntry.seq)).all()
    return [row for row in rows if action is None or row.action == action]


def new_case_data(client, **values) -> MultiDict:
    """The Ny SIP form as the page gives it, filled in with another name for Viktoria, values on top."""
    form = forms_of(text_of(client.get("/cases/new")))["/cases/new"]
    defaults = {
        "workflow_name": "sip",
        "identifier": VIKTORIA_PNR,
        "given_name": "Falsk",
        "family_name": "Namnsson",
        "home_municipality_code": ALVESTA,
    }
    return fill(form, **(defaults | values))


@pytest.fixture
def viktoria(db_session, app):
    """Viktoria Ek of Växjö, registered when the region started her SIP."""
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


@pytest.fixture
def viktorias_case(db_session, registry, parties, viktoria):
    """Her SIP, started by the region with the municipality taking part (no consent yet)."""
    case = services.create_case(
        db_session,
        registry,
        parties.region_user,
        workflow_name="sip",
        person=viktoria,
        unit_ids=[parties.municipality.id],
        now=now_utc(),
    )
    db_session.commit()
    return case


def give_consent(db_session, registry, parties, case):
    """The person consents for the region and the municipality."""
    fire_scripted(db_session, registry, parties.region_user, case, "give_consent", now=now_utc())
    db_session.commit()


# --- Defect 5: an identifier kind outside the list ---------------------------------------------------------


@pytest.mark.parametrize("kind", ["passport", VIKTORIA_PNR, ""])
def test_an_unknown_identifier_kind_is_an_error_beside_the_field(client, parties, db_session, caplog, kind):
    as_user(client, parties.region_user)
    caplog.set_level(logging.INFO)
    response = client.post("/cases/new", data=new_case_data(client, id_kind=kind, given_name="Kim"))
    assert response.status_code == 400
    html = text_of(response)
    assert 'id="id_kind-error"' in html
    # What the user typed is kept.
    assert 'value="Kim"' in html
    assert count(db_session, Person) == 0 and count(db_session, SipCase) == 0
    assert personnummer_in([record.getMessage() for record in caplog.records]) == []


# --- Defect 1: a known personnummer does not change the person ---------------------------------------------


def test_the_service_never_changes_a_registered_person(db_session, app, viktoria):
    registration = register_viktoria(db_session, app, "Falsk", "Namnsson", ALVESTA)
    db_session.commit()
    assert registration.person.id == viktoria.id
    assert not registration.created and registration.particulars_differ
    person = reload(db_session, Person, viktoria.id)
    assert (person.given_name, person.family_name, person.home_municipality_code) == ("Viktoria", "Ek", VAXJO)
    same = register_viktoria(db_session, app, " Viktoria ", "Ek", VAXJO)
    assert not same.created and not same.particulars_differ


def test_a_person_registered_by_another_request_since_the_lookup_is_found_not_a_server_error(
    db_session, app, viktoria, monkeypatch
):
    # Two requests start a SIP for the same new person at once: both look the identifier up and find no
    # one; the one whose INSERT commits first registers her, and the other must find that row, not fail
    # on the unique key. Here the lookup missed her as the second request's would have.
    lookups = []
    real_find = people_services.find_person

    def find_after_the_other_request(*args):
        lookups.append(args)
        return None if len(lookups) == 1 else real_find(*args)

    monkeypatch.setattr(people_services, "find_person", find_after_the_other_request)
    registration = register_viktoria(db_session, app, "Viktoria", "Eklund", VAXJO)
    db_session.commit()

    assert registration.person.id == viktoria.id
    assert not registration.created and registration.particulars_differ
    assert count(db_session, Person) == 1
    assert reload(db_session, Person, viktoria.id).family_name == "Ek"


def test_a_municipality_code_found_once_is_not_read_again_and_an_unknown_one_is_refused(
    db_session, app, engine
):
    now = now_utc()
    key = app.config["PNR_HASH_KEY"]
    people_services._KNOWN_MUNICIPALITIES.clear()

    def register(serial: int, code: str) -> list[str]:
        pnr = parse_identifier(valid_personnummer(date(1950, 1, 2), serial=serial), today=now.date())
        with support.statements(engine) as seen:
            find_or_register_person(
                db_session, key, pnr, given_name="A", family_name="B", home_municipality_code=code, now=now
            )
        return [s for s in seen if "FROM municipality" in s]

    assert len(register(11, VAXJO)) == 1
    # Reference data the app never deletes: the code found is valid in this process from now on.
    assert register(12, VAXJO) == []
    # A code not seen yet is asked of the database, and one it lacks is refused every time.
    assert len(register(13, ALVESTA)) == 1
    for _ in range(2):
        with pytest.raises(InvalidInput) as refused:
            register(14, "9999")
        assert refused.value.field == "home_municipality_code"


def test_another_organisation_cannot_rename_a_person_through_ny_sip(
    client, parties, viktoria, viktorias_case, db_session, registry
):
    """The reproduction: Försäkringskassan posts Viktoria's personnummer with a new name."""
    give_consent(db_session, registry, parties, viktorias_case)
    as_user(client, parties.outsider_user)
    warned = client.post("/cases/new", data=new_case_data(client))
    # Her open SIP is held by others: the outsider is told that much, and nothing about her or it.
    assert warned.status_code == 409
    html = text_of(warned)
    assert HIDDEN_OPEN_SIP in html
    assert "Viktoria" not in html
    assert viktorias_case.reference not in html and viktorias_case.uid not in html
    confirmed = client.post("/cases/new", data=fill(forms_of(html)["/cases/new"], confirm_open="y"))
    assert confirmed.status_code == 303
    page = text_of(client.get(confirmed.headers["Location"]))
    assert ALREADY_REGISTERED in page
    person = reload(db_session, Person, viktoria.id)
    assert (person.given_name, person.family_name, person.home_municipality_code) == ("Viktoria", "Ek", VAXJO)
    assert count(db_session, Person) == 1 and count(db_session, SipCase) == 2
    # Everyone else still sees her own name on her SIP.
    client.post("/logout", data={"csrf_token": csrf_token(page)})
    as_user(client, parties.municipality_user)
    theirs = text_of(client.get(f"/cases/{viktorias_case.uid}"))
    assert "Viktoria Ek" in theirs and "Falsk" not in theirs


def test_the_same_particulars_give_no_notice(client, parties, viktoria, db_session):
    as_user(client, parties.region_user)
    data = new_case_data(client, given_name="Viktoria", family_name="Ek", home_municipality_code=VAXJO)
    response = client.post("/cases/new", data=data)
    assert response.status_code == 303
    assert ALREADY_REGISTERED not in text_of(client.get(response.headers["Location"]))


def test_a_new_person_is_registered_with_what_was_typed(client, parties, db_session):
    as_user(client, parties.region_user)
    pnr = valid_personnummer(date(1977, 7, 7), serial=123)
    response = client.post("/cases/new", data=new_case_data(client, identifier=pnr, given_name="Kim"))
    assert response.status_code == 303
    assert ALREADY_REGISTERED not in text_of(client.get(response.headers["Location"]))
    person = db_session.exec(select(Person)).one()
    assert (person.given_name, person.family_name, person.home_municipality_code) == (
        "Kim",
        "Namnsson",
        ALVESTA,
    )


def test_the_persons_loggutdrag_says_who_registered_them_and_started_their_sip(client, parties, db_session):
    as_user(client, parties.region_user)
    pnr = valid_personnummer(date(1977, 7, 8), serial=124)
    assert client.post("/cases/new", data=new_case_data(client, identifier=pnr)).status_code == 303
    person = db_session.exec(select(Person)).one()
    case = db_session.exec(select(SipCase)).one()
    rows = extract_rows(db_session, person.id)
    assert [(r.user, r.organisation, r.action, r.case_reference, r.outcome) for r in rows] == [
        (
            parties.region_user.display_name,
            "Region Kronoberg",
            "Startade SIP-ärendet",
            case.reference,
            "tillåten",
        )
    ]
    (row,) = log_rows(db_session, audit.CASE_CREATE)
    assert (row.user_id, row.person_id, row.case_id) == (parties.region_user.id, person.id, case.id)
    assert audit.verify_chain(db_session) == []


# --- Defect 1: a second open SIP warns, links and needs a confirmation -----------------------------------


def test_a_second_open_sip_warns_with_a_link_and_keeps_the_form(
    client, parties, viktoria, viktorias_case, db_session
):
    as_user(client, parties.region_user)
    data = new_case_data(client, given_name="Viktoria", family_name="Ek", unit_ids=[parties.school.id])
    warned = client.post("/cases/new", data=data)
    assert warned.status_code == 409
    html = text_of(warned)
    assert OPEN_SIP_WARNING in html
    assert f'href="/cases/{viktorias_case.uid}"' in html and viktorias_case.reference in html
    assert HIDDEN_OPEN_SIP not in html
    assert count(db_session, SipCase) == 1
    # Nothing typed is lost, and the confirmation is not ticked for the user.
    form = dict(forms_of(html)["/cases/new"])
    assert form["identifier"] == VIKTORIA_PNR and form["given_name"] == "Viktoria"
    assert form["home_municipality_code"] == ALVESTA
    assert ("unit_ids", str(parties.school.id)) in forms_of(html)["/cases/new"]
    assert "confirm_open" not in form
    # Posting again without ticking warns again; ticking starts the second SIP.
    again = client.post("/cases/new", data=fill(forms_of(html)["/cases/new"]))
    assert again.status_code == 409 and count(db_session, SipCase) == 1
    confirmed = client.post("/cases/new", data=fill(forms_of(html)["/cases/new"], confirm_open="y"))
    assert confirmed.status_code == 303
    assert count(db_session, SipCase) == 2


def test_a_confirmation_holds_only_for_the_person_it_was_given_for(
    client, parties, viktoria, viktorias_case, make_person, create_case, db_session
):
    other = create_case()  # another person's open SIP, also the region's
    other_person = reload(db_session, Person, other.person_id)
    as_user(client, parties.region_user)
    warned = client.post("/cases/new", data=new_case_data(client))
    assert warned.status_code == 409
    # The user ticks the box but swaps in another person's identifier: that person's SIP is warned about.
    swapped = fill(
        forms_of(text_of(warned))["/cases/new"], confirm_open="y", identifier=other_person.id_number
    )
    response = client.post("/cases/new", data=swapped)
    assert response.status_code == 409
    assert other.reference in text_of(response)
    assert count(db_session, SipCase) == 2


def test_sending_the_confirmed_form_again_warns_of_the_sip_it_just_started(
    client, parties, viktoria, viktorias_case, db_session
):
    """Back and send again (or a double click) after confirming must not start a third SIP unasked."""
    as_user(client, parties.region_user)
    warned = client.post("/cases/new", data=new_case_data(client))
    assert warned.status_code == 409
    confirmed_form = fill(forms_of(text_of(warned))["/cases/new"], confirm_open="y")
    started = client.post("/cases/new", data=confirmed_form)
    assert started.status_code == 303
    assert count(db_session, SipCase) == 2
    again = client.post("/cases/new", data=confirmed_form)
    # The confirmation covered the one open SIP shown; now there are two, and the user is asked again.
    assert again.status_code == 409
    assert count(db_session, SipCase) == 2
    second = db_session.exec(select(SipCase).where(SipCase.id != viktorias_case.id)).one()
    html = text_of(again)
    assert viktorias_case.reference in html and second.reference in html
    # Ticking the box under that warning starts the third one.
    third = client.post("/cases/new", data=fill(forms_of(html)["/cases/new"], confirm_open="y"))
    assert third.status_code == 303
    assert count(db_session, SipCase) == 3


def test_a_closed_sip_gives_no_warning(client, parties, viktoria, viktorias_case, db_session, registry):
    fire_scripted(db_session, registry, parties.region_user, viktorias_case, "decline_consent", now=now_utc())
    db_session.commit()
    assert registry.latest("sip").is_final(reload(db_session, SipCase, viktorias_case.id).state)
    as_user(client, parties.region_user)
    response = client.post("/cases/new", data=new_case_data(client))
    assert response.status_code == 303
    assert count(db_session, SipCase) == 2


def test_an_open_sip_the_user_may_see_and_one_they_may_not(
    client, parties, viktoria, viktorias_case, db_session, registry
):
    """The municipality sees the region's SIP once consent covers it, but not the school's own."""
    give_consent(db_session, registry, parties, viktorias_case)
    schools = services.create_case(
        db_session,
        registry,
        parties.school_user,
        workflow_name="sip",
        person=viktoria,
        unit_ids=[],
        now=now_utc(),
    )
    db_session.commit()
    as_user(client, parties.municipality_user)
    html = text_of(client.post("/cases/new", data=new_case_data(client)))
    assert OPEN_SIP_WARNING in html and HIDDEN_OPEN_SIP in html
    assert f'href="/cases/{viktorias_case.uid}"' in html
    assert schools.uid not in html and schools.reference not in html


def person_lookups(db_session) -> list[tuple]:
    db_session.expire_all()
    return db_session.exec(
        select(AccessLogEntry.user_id, AccessLogEntry.person_id, AccessLogEntry.case_id)
        .where(AccessLogEntry.action == audit.PERSON_LOOKUP)
        .order_by(AccessLogEntry.seq)
    ).all()


def test_the_warning_of_an_open_sip_elsewhere_is_a_logged_look_up_of_the_person(
    client, parties, viktoria, viktorias_case, db_session
):
    """The school sees nothing of the region's SIP, yet learns Viktoria is in one: the loggutdrag says so."""
    as_user(client, parties.school_user)
    response = client.post("/cases/new", data=new_case_data(client))
    assert response.status_code == 409 and HIDDEN_OPEN_SIP in text_of(response)
    assert person_lookups(db_session) == [(parties.school_user.id, viktoria.id, None)]
    # Each warning is a look-up of its own.
    client.post("/cases/new", data=new_case_data(client))
    assert len(person_lookups(db_session)) == 2


def test_starting_a_sip_for_someone_unknown_or_without_an_open_sip_logs_no_look_up(
    client, parties, viktoria, viktorias_case, db_session, registry
):
    as_user(client, parties.region_user)
    unknown = valid_personnummer(date(1950, 1, 1), serial=999)
    assert client.post("/cases/new", data=new_case_data(client, identifier=unknown)).status_code == 303
    fire_scripted(db_session, registry, parties.region_user, viktorias_case, "decline_consent", now=now_utc())
    db_session.commit()
    assert client.post("/cases/new", data=new_case_data(client)).status_code == 303
    assert person_lookups(db_session) == []


# --- Changing a person's particulars ------------------------------------------------------------------------


def test_the_change_service_changes_and_logs(db_session, parties, viktoria, viktorias_case):
    changed = change_person_particulars(
        db_session,
        parties.region_user,
        viktoria,
        given_name="Viktoria Maria",
        family_name="Ek",
        home_municipality_code=ALVESTA,
        purpose=audit.PURPOSE_CARE,
        case=viktorias_case,
        now=now_utc(),
    )
    db_session.commit()
    assert changed
    person = reload(db_session, Person, viktoria.id)
    assert (person.given_name, person.home_municipality_code) == ("Viktoria Maria", ALVESTA)
    [row] = log_rows(db_session, audit.PERSON_CHANGE)
    assert row.person_id == viktoria.id and row.user_id == parties.region_user.id
    assert row.case_id == viktorias_case.id and row.outcome == audit.ALLOWED


def test_staff_who_only_started_a_later_sip_may_not_change_the_person(
    db_session, registry, parties, viktoria, viktorias_case
):
    """Otherwise anyone could start a SIP for a personnummer and then rename its person."""
    services.create_case(
        db_session,
        registry,
        parties.outsider_user,
        workflow_name="sip",
        person=viktoria,
        unit_ids=[],
        now=now_utc(),
    )
    db_session.commit()
    for user in (parties.outsider_user, parties.municipality_user):
        with pytest.raises(NotAllowed):
            change_person_particulars(
                db_session,
                user,
                viktoria,
                given_name="Falsk",
                family_name="Namnsson",
                home_municipality_code=VAXJO,
                purpose=audit.PURPOSE_CARE,
                now=now_utc(),
            )
        db_session.rollback()
    assert reload(db_session, Person, viktoria.id).given_name == "Viktoria"
    assert log_rows(db_session, audit.PERSON_CHANGE) == []


def particulars_form(client, url: str) -> list[tuple[str, str]]:
    page = client.get(url)
    assert page.status_code == 200
    return forms_of(text_of(page))[url]


def test_staff_change_the_particulars_from_the_case_page(
    client, parties, viktoria, viktorias_case, db_session, registry
):
    give_consent(db_session, registry, parties, viktorias_case)
    as_user(client, parties.municipality_user)
    case_page = text_of(client.get(f"/cases/{viktorias_case.uid}"))
    url = f"/cases/{viktorias_case.uid}/person"
    assert f'href="{url}"' in case_page
    form = particulars_form(client, url)
    assert ("given_name", "Viktoria") in form and ("home_municipality_code", VAXJO) in form
    for bad, field in (
        ({"given_name": "  "}, "given_name"),
        ({"home_municipality_code": "9999"}, "home_municipality_code"),
    ):
        refused = client.post(url, data=fill(form, **bad))
        assert refused.status_code == 400
        assert f'id="{field}-error"' in text_of(refused)
    assert reload(db_session, Person, viktoria.id).given_name == "Viktoria"
    response = client.post(url, data=fill(form, family_name="Ek-Lund", home_municipality_code=ALVESTA))
    assert response.status_code == 303
    assert "Viktoria Ek-Lund" in text_of(client.get(response.headers["Location"]))
    person = reload(db_session, Person, viktoria.id)
    assert (person.family_name, person.home_municipality_code) == ("Ek-Lund", ALVESTA)
    # The refused posts before it are logged as attempts of the change (nothing saved).
    attempts = log_rows(db_session, audit.PERSON_CHANGE)
    assert [row.outcome for row in attempts] == [audit.NOT_SAVED, audit.NOT_SAVED, audit.ALLOWED]
    row = attempts[-1]
    assert row.user_id == parties.municipality_user.id and row.case_id == viktorias_case.id


def test_two_staff_changing_the_particulars_at_once_do_not_undo_each_other(
    client, app, parties, viktoria, viktorias_case, db_session, registry
):
    """Both open the page; one corrects the given name, the other then the family name from the old page."""
    give_consent(db_session, registry, parties, viktorias_case)
    url = f"/cases/{viktorias_case.uid}/person"
    other = FreshContextClient(app, app.response_class, use_cookies=True)
    as_user(client, parties.region_user)
    as_user(other, parties.municipality_user)
    first, second = particulars_form(client, url), particulars_form(other, url)
    assert client.post(url, data=fill(first, given_name="Vicky")).status_code == 303
    stale = other.post(url, data=fill(second, family_name="Ek-Lund"))
    # The second save would put back "Viktoria": it is a conflict, what was typed is kept to send again.
    assert stale.status_code == 409
    person = reload(db_session, Person, viktoria.id)
    assert (person.given_name, person.family_name) == ("Vicky", "Ek")
    again = forms_of(text_of(stale))[url]
    assert ("family_name", "Ek-Lund") in again
    assert other.post(url, data=fill(again)).status_code == 303
    assert reload(db_session, Person, viktoria.id).family_name == "Ek-Lund"


def test_the_particulars_page_is_404_for_those_who_do_not_see_the_case(
    client, parties, viktoria, viktorias_case, db_session
):
    as_user(client, parties.outsider_user)
    url = f"/cases/{viktorias_case.uid}/person"
    assert client.get(url).status_code == 404
    token = csrf_token(text_of(client.get("/")))
    data = {
        "csrf_token": token,
        "given_name": "Falsk",
        "family_name": "Namnsson",
        "home_municipality_code": VAXJO,
    }
    assert client.post(url, data=data).status_code == 404
    assert reload(db_session, Person, viktoria.id).given_name == "Viktoria"


def test_the_initiator_of_a_later_sip_gets_no_form_and_a_403(
    client, parties, viktoria, viktorias_case, db_session, registry
):
    later = services.create_case(
        db_session,
        registry,
        parties.outsider_user,
        workflow_name="sip",
        person=viktoria,
        unit_ids=[],
        now=now_utc(),
    )
    db_session.commit()
    as_user(client, parties.outsider_user)
    url = f"/cases/{later.uid}/person"
    assert f'href="{url}"' not in text_of(client.get(f"/cases/{later.uid}"))
    assert client.get(url).status_code == 403
    token = csrf_token(text_of(client.get("/")))
    data = {
        "csrf_token": token,
        "given_name": "Falsk",
        "family_name": "Namnsson",
        "home_municipality_code": VAXJO,
    }
    assert client.post(url, data=data).status_code == 403
    assert reload(db_session, Person, viktoria.id).given_name == "Viktoria"
    assert log_rows(db_session, audit.PERSON_CHANGE) == []


def test_an_administrator_changes_the_particulars_on_the_person_page(
    client, make_user, viktoria, viktorias_case, db_session
):
    admin = make_user(None, roles="admin")
    as_user(client, admin)
    lookup = forms_of(text_of(client.get("/admin/persons")))["/admin/persons"]
    found = client.post("/admin/persons", data=fill(lookup, identifier=VIKTORIA_PNR, purpose="Rättelse"))
    assert found.status_code == 200
    form = forms_of(text_of(found))["/admin/persons/particulars"]
    assert ("given_name", "Viktoria") in form
    missing_purpose = client.post("/admin/persons/particulars", data=fill(form, given_name="Vicky"))
    assert missing_purpose.status_code == 400
    assert reload(db_session, Person, viktoria.id).given_name == "Viktoria"
    response = client.post(
        "/admin/persons/particulars",
        data=fill(form, given_name="Vicky", purpose="Namnbyte enligt Skatteverket"),
    )
    assert response.status_code == 200
    assert "Vicky Ek" in text_of(response)
    assert reload(db_session, Person, viktoria.id).given_name == "Vicky"
    [row] = log_rows(db_session, audit.PERSON_CHANGE)
    assert row.user_id == admin.id and row.person_id == viktoria.id
    assert row.purpose == "Namnbyte enligt Skatteverket" and row.case_id is None


def test_no_personnummer_or_name_in_the_urls_of_these_pages(client, parties, viktoria, viktorias_case):
    as_user(client, parties.region_user)
    html = text_of(client.post("/cases/new", data=new_case_data(client)))
    for url in re.findall(r'(?:href|action)="([^"]+)"', html):
        assert VIKTORIA_PNR not in url and VIKTORIA_PNR[2:] not in url and "Viktoria" not in url


def test_a_change_of_particulars_from_the_case_page_is_one_row_in_the_loggutdrag(
    client, parties, viktoria, viktorias_case, db_session, registry
):
    """The change is its own row; the post showed nothing, so no "Läste SIP-ärendet" beside it. A refused
    post, and one that changed nothing, are attempts of that change, not a form of some kind."""
    give_consent(db_session, registry, parties, viktorias_case)
    as_user(client, parties.municipality_user)
    url = f"/cases/{viktorias_case.uid}/person"

    def rows_of(response, status):
        before = len(log_rows(db_session))
        assert response().status_code == status
        return [(row.action, row.outcome) for row in log_rows(db_session)[before:]]

    form = particulars_form(client, url)
    changed = rows_of(lambda: client.post(url, data=fill(form, family_name="Ek-Lund")), 303)
    assert changed == [(audit.PERSON_CHANGE, audit.ALLOWED)]
    form = particulars_form(client, url)
    refused = rows_of(lambda: client.post(url, data=fill(form, given_name="  ")), 400)
    assert refused == [(audit.PERSON_CHANGE, audit.NOT_SAVED)]
    unchanged = rows_of(lambda: client.post(url, data=fill(form)), 303)
    assert unchanged == [(audit.PERSON_CHANGE, audit.NOT_SAVED)]
    worded = [row.action for row in extract_rows(db_session, viktoria.id)][-5:]
    assert worded == [
        "Läste SIP-ärendet",
        "Ändrade personens namn eller folkbokföringskommun",
        "Läste SIP-ärendet",
        "Försökte ändra personens namn eller folkbokföringskommun (inget sparades)",
        "Försökte ändra personens namn eller folkbokföringskommun (inget sparades)",
    ]
