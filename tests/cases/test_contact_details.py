"""Kontaktuppgifter för kallelser: the form is the same blank one for every participant, so a field left
empty keeps what is stored, removing an address or a phone is an explicit choice, and the message says what
changed."""

from __future__ import annotations

import pytest
from sqlmodel import select
from webkit import fill, forms_of, login, text_of

from sipflow.cases.models import Participant

EMAIL = "linda.b@example.se"


@pytest.fixture
def as_region(client, parties):
    assert login(client, parties.region_user.username).status_code == 302
    return client


@pytest.fixture
def linda(as_region, db_session, create_case):
    """A närstående with an e-mail address and a phone number, and the case page's URL."""
    case = create_case()
    url = f"/cases/{case.uid}"
    private = forms_of(text_of(as_region.get(url)))[f"{url}/participants/private"]
    added = as_region.post(
        f"{url}/participants/private",
        data=fill(
            private,
            **{
                "private-kind": "narstaende",
                "private-name": "Linda Berglund",
                "private-email": EMAIL,
                "private-phone": "070-111 22 33",
            },
        ),
    )
    assert added.status_code == 303
    return url, _linda(db_session, case.id).id, case.id


def _linda(db_session, case_id) -> Participant:
    db_session.expire_all()
    return db_session.exec(
        select(Participant).where(Participant.case_id == case_id, Participant.name == "Linda Berglund")
    ).one()


def _post(client, url, participant_id, **values):
    form = forms_of(text_of(client.get(url)))[f"{url}/participants/contact"]
    fields = {"contact-participant_id": str(participant_id)}
    fields.update({f"contact-{name}": value for name, value in values.items()})
    return client.post(f"{url}/participants/contact", data=fill(form, **fields), follow_redirects=True)


def test_the_blank_e_mail_field_offers_to_keep_or_remove_the_stored_address(as_region, linda):
    url, _participant_id, _case_id = linda
    form = dict(forms_of(text_of(as_region.get(url)))[f"{url}/participants/contact"])
    assert form["contact-email"] == "" and "contact-remove_email" not in form  # unticked
    html = text_of(as_region.get(url))
    assert "Ta bort e-postadressen" in html and "Lämnas fältet tomt behålls den sparade adressen." in html


def test_saving_only_a_phone_number_keeps_the_stored_e_mail_address(as_region, db_session, linda):
    url, participant_id, case_id = linda
    saved = _post(as_region, url, participant_id, phone="070-765 43 21")
    assert saved.status_code == 200
    page = text_of(saved)
    assert "Telefonnumret är nu 070-765 43 21." in page
    assert "E-postadressen är" not in page
    linda_now = _linda(db_session, case_id)
    assert (linda_now.email, linda_now.phone) == (EMAIL, "070-765 43 21")


def test_an_empty_form_changes_nothing_and_says_so(as_region, db_session, linda):
    url, participant_id, case_id = linda
    saved = _post(as_region, url, participant_id)
    assert "Inget ändrades: kontaktuppgifterna är som förut." in text_of(saved)
    linda_now = _linda(db_session, case_id)
    assert (linda_now.email, linda_now.phone) == (EMAIL, "070-111 22 33")


def test_the_address_is_removed_only_when_asked_and_the_message_says_so(as_region, db_session, linda):
    url, participant_id, case_id = linda
    saved = _post(as_region, url, participant_id, remove_email="y")
    assert "E-postadressen är borttagen." in text_of(saved)
    linda_now = _linda(db_session, case_id)
    assert (linda_now.email, linda_now.phone) == (None, "070-111 22 33")
    saved = _post(as_region, url, participant_id, remove_phone="y", email="ny.adress@example.se")
    page = text_of(saved)
    assert "Telefonnumret är borttaget." in page and "E-postadressen är nu ny.adress@example.se." in page
    linda_now = _linda(db_session, case_id)
    assert (linda_now.email, linda_now.phone) == ("ny.adress@example.se", None)


def test_a_new_address_and_its_removal_together_are_refused_with_what_was_typed(as_region, db_session, linda):
    url, participant_id, case_id = linda
    refused = _post(as_region, url, participant_id, email="ny.adress@example.se", remove_email="y")
    assert refused.status_code == 400
    html = text_of(refused)
    assert 'id="contact-email-error"' in html and 'value="ny.adress@example.se"' in html
    assert _linda(db_session, case_id).email == EMAIL
