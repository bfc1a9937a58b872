"""A närstående or guardian already taking part in a SIP is not added twice; what was typed is kept."""

from __future__ import annotations

import unicodedata

import pytest
from sqlmodel import select
from webkit import fill, forms_of, login, text_of

from sipflow.cases import services
from sipflow.cases.models import Participant
from sipflow.clock import now_utc
from sipflow.db import unit_of_work
from sipflow.errors import InvalidInput
from sipflow.people.models import Person

pytestmark = pytest.mark.usefixtures("frozen_clock")


def _add(session, registry, case, **values):
    particulars = {"kind": "narstaende", "name": "Eva Andersson", "relation": "syster", "email": None}
    with unit_of_work(session):
        return services.add_private_participant(
            session, registry, case, now=now_utc(), **({"phone": None} | particulars | values)
        )


def _private(session, case) -> list[Participant]:
    return [
        p
        for p in session.exec(select(Participant).where(Participant.case_id == case.id)).all()
        if p.kind in ("narstaende", "guardian")
    ]


@pytest.mark.parametrize(
    ("again", "field"),
    [
        ({"name": "eva  andersson", "relation": "Syster"}, "name"),  # case and spacing do not count
        ({"relation": "storasyster", "email": "EVA@example.se"}, "email"),  # her name at her address
    ],
    ids=["same-name-and-relation", "same-email"],
)
def test_the_same_narstaende_is_refused_at_the_field(db_session, registry, create_case, again, field):
    case = create_case()
    _add(db_session, registry, case, email="eva@example.se")
    with pytest.raises(InvalidInput) as refused:
        _add(db_session, registry, case, **again)
    assert refused.value.field == field
    assert len(_private(db_session, case)) == 1


def test_others_of_the_family_and_a_removed_one_may_be_added(db_session, registry, create_case):
    case = create_case()
    first = _add(db_session, registry, case, email="familjen@example.se")
    # Her sister at the family's address, a cousin of the same name, and her as a guardian: others.
    _add(db_session, registry, case, name="Karin Andersson", email="familjen@example.se")
    _add(db_session, registry, case, relation="kusin")
    _add(db_session, registry, case, kind="guardian", relation="mamma", email="familjen@example.se")
    with pytest.raises(InvalidInput):
        _add(db_session, registry, case, kind="guardian", relation="Mamma")
    with unit_of_work(db_session):
        first.removed_at = now_utc()
        db_session.add(first)
    _add(db_session, registry, case, email="familjen@example.se")
    assert len(_private(db_session, case)) == 5


def test_the_case_page_refuses_a_duplicate_beside_the_field_and_keeps_what_was_typed(
    client, parties, create_case, db_session, registry
):
    case = create_case()
    _add(db_session, registry, case, email="eva@example.se")
    login(client, parties.region_user.username)
    url = f"/cases/{case.uid}/participants/private"
    form = forms_of(text_of(client.get(f"/cases/{case.uid}")))[url]
    typed = {
        "private-kind": "narstaende",
        "private-name": "Eva Andersson",
        "private-relation": "lillasyster",
        "private-email": "Eva@Example.se",
        "private-phone": "070-111 22 33",
    }
    refused = client.post(url, data=fill(form, **typed))
    assert refused.status_code == 400
    html = text_of(refused)
    assert 'id="private-email-error"' in html
    assert "Någon med det här namnet och den här e-postadressen deltar redan i SIP:en." in html
    assert 'value="Eva@Example.se"' in html and 'value="070-111 22 33"' in html
    again = client.post(url, data=fill(forms_of(html)[url], **(typed | {"private-relation": "syster"})))
    assert again.status_code == 400
    assert 'id="private-name-error"' in text_of(again)
    assert "Den här närstående deltar redan i SIP:en: samma namn och relation." in text_of(again)
    db_session.expire_all()
    assert len(_private(db_session, case)) == 1


@pytest.mark.parametrize("field", ["name", "relation", "email", "phone"])
def test_a_line_break_in_a_narstaendes_particulars_is_refused_at_the_field(
    db_session, registry, create_case, field
):
    # Each is shown as one line of a page, a mail or the links page's list of recipients.
    case = create_case()
    values = {"name": "Eva Andersson", "relation": "syster", "email": "eva@example.se", "phone": "0701"}
    values[field] += "\nBcc: evil@example.com"
    particulars = {key: value for key, value in values.items() if key != "phone"}
    with pytest.raises(InvalidInput) as refused, unit_of_work(db_session):
        services.add_private_participant(
            db_session, registry, case, kind="narstaende", phone=values["phone"], now=now_utc(), **particulars
        )
    assert refused.value.field == field
    assert _private(db_session, case) == []


def test_a_name_typed_decomposed_is_the_same_name(db_session, registry, create_case):
    # "Å" typed as A and a combining ring (macOS, some phones) reads as "Å": stored as one letter, so it
    # is the same närstående, found by the same searches and sorted alike.
    case = create_case()
    decomposed = unicodedata.normalize("NFD", "Åsa Öberg")
    first = _add(db_session, registry, case, name=decomposed, relation="moster")
    assert first.name == "Åsa Öberg" == unicodedata.normalize("NFC", "Åsa Öberg")
    with pytest.raises(InvalidInput) as refused:
        _add(db_session, registry, case, name="Åsa Öberg", relation="Moster")
    assert refused.value.field == "name"
    assert len(_private(db_session, case)) == 1


def test_a_stored_decomposed_name_is_still_the_same_name(db_session, registry, create_case):
    # A row written before names were normalised is compared as it reads, too.
    case = create_case()
    first = _add(db_session, registry, case, name="Åsa Öberg", relation="moster")
    with unit_of_work(db_session):
        first.name = unicodedata.normalize("NFD", "Åsa Öberg")
        db_session.add(first)
    with pytest.raises(InvalidInput):
        _add(db_session, registry, case, name="Åsa Öberg", relation="moster")


def test_the_same_name_and_phone_number_is_the_same_narstaende(db_session, registry, create_case):
    case = create_case()
    _add(db_session, registry, case, name="Peter Sandberg", relation="pappa", phone="070-123 45 67")
    for number in ("0701234567", "+46 70 123 45 67", "0046701234567"):
        with pytest.raises(InvalidInput) as refused:
            _add(db_session, registry, case, name="peter sandberg", relation=None, phone=number)
        assert refused.value.field == "phone"
    # Another number, or another name at the number (a family sharing a phone), is someone else.
    _add(db_session, registry, case, name="Peter Sandberg", relation="farbror", phone="070-765 43 21")
    _add(db_session, registry, case, name="Lena Sandberg", relation=None, phone="070-123 45 67")
    assert len(_private(db_session, case)) == 3


@pytest.mark.parametrize("kind", ["narstaende", "guardian"])
def test_the_person_themselves_is_not_added_as_a_narstaende(db_session, registry, create_case, kind):
    case = create_case()
    person = db_session.get(Person, case.person_id)
    name = f"{person.given_name.upper()}  {unicodedata.normalize('NFD', person.family_name)}"
    with pytest.raises(InvalidInput) as refused:
        _add(db_session, registry, case, kind=kind, name=name, relation="dotter")
    assert refused.value.field == "name"
    assert refused.value.message is services.THE_PERSON_THEMSELVES
    assert _private(db_session, case) == []
    # Told apart in the name, a same-named parent is added.
    _add(db_session, registry, case, kind=kind, name=f"{person.given_name} {person.family_name} d.ä.")


def test_the_case_page_refuses_the_person_and_a_phone_duplicate_in_swedish(
    client, parties, create_case, db_session, registry
):
    case = create_case()
    _add(db_session, registry, case, name="Peter Sandberg", relation="pappa", phone="070-123 45 67")
    person = db_session.get(Person, case.person_id)
    login(client, parties.region_user.username)
    url = f"/cases/{case.uid}/participants/private"
    form = forms_of(text_of(client.get(f"/cases/{case.uid}")))[url]
    typed = {"private-kind": "narstaende", "private-name": "Peter Sandberg", "private-phone": "0701234567"}
    refused = client.post(url, data=fill(form, **typed))
    assert refused.status_code == 400
    assert 'id="private-phone-error"' in text_of(refused)
    assert "Någon med det här namnet och det här telefonnumret deltar redan i SIP:en." in text_of(refused)
    himself = f"{person.given_name} {person.family_name}"
    refused = client.post(url, data=fill(form, **(typed | {"private-name": himself})))
    assert refused.status_code == 400
    assert 'id="private-name-error"' in text_of(refused)
    assert "Personen själv deltar redan i SIP:en." in text_of(refused)
    db_session.expire_all()
    assert len(_private(db_session, case)) == 1
