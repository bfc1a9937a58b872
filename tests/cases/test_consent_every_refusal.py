"""The consent form refuses every field at fault at once, on the case page and on the further-consent page:
a missing "Form" and a validity gone by came one send apart."""

from __future__ import annotations

import pytest
from sqlmodel import func, select
from webkit import fill, forms_of, login, text_of

from sipflow.consent.models import Consent

pytestmark = pytest.mark.usefixtures("frozen_clock")

PAST = "Samtycket kan inte upphöra före i dag."
NO_FORM = "Välj ett av alternativen."


def _error_of(html: str, field_id: str) -> str:
    """The text of the error shown beside the field field_id."""
    start = html.index(f'id="{field_id}-error"')
    return html[start : html.index("</", start)]


def _consents(db_session) -> int:
    db_session.expire_all()
    return db_session.exec(select(func.count()).select_from(Consent)).one()


def test_the_consent_step_marks_the_form_and_the_date_in_one_send(client, db_session, parties, create_case):
    case = create_case()
    login(client, parties.region_user.username)
    url = f"/cases/{case.uid}/transitions/give_consent"
    form = forms_of(text_of(client.get(f"/cases/{case.uid}")))[url]
    refused = client.post(
        url, data=fill(form, **{"give_consent-form": None, "give_consent-valid_until": "2020-01-01"})
    )
    assert refused.status_code == 400
    html = text_of(refused)
    assert PAST in _error_of(html, "give_consent-valid_until")
    assert NO_FORM in _error_of(html, "give_consent-form")
    assert _consents(db_session) == 0


def test_a_field_the_form_refuses_keeps_its_own_error_beside_the_services_others(
    client, db_session, parties, create_case
):
    case = create_case()
    login(client, parties.region_user.username)
    url = f"/cases/{case.uid}/transitions/give_consent"
    form = forms_of(text_of(client.get(f"/cases/{case.uid}")))[url]
    refused = client.post(
        url, data=fill(form, **{"give_consent-form": None, "give_consent-valid_until": "2020-13-45"})
    )
    assert refused.status_code == 400
    html = text_of(refused)
    assert NO_FORM in _error_of(html, "give_consent-form")
    # The date is not one: its own error alone (the service read it as empty), nothing at the top.
    assert PAST not in html
    assert _consents(db_session) == 0


def test_the_further_consent_marks_the_form_and_the_date_in_one_send(
    client, db_session, parties, joined_later
):
    case = joined_later
    before = _consents(db_session)
    login(client, parties.region_user.username)
    url = f"/cases/{case.uid}/consent/further"
    form = forms_of(text_of(client.get(url)))[url]
    refused = client.post(url, data=fill(form, **{"consent-form": None, "consent-valid_until": "2020-01-01"}))
    assert refused.status_code == 400
    html = text_of(refused)
    assert PAST in _error_of(html, "consent-valid_until")
    assert NO_FORM in _error_of(html, "consent-form")
    assert _consents(db_session) == before
