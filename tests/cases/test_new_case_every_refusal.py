"""Ny SIP refuses every field at fault in one send: a name left empty or an identifier with a wrong check
digit no longer hides that utskrivningsklar lies in the future, nor a municipality outside the list (a
tampered value), and what was typed stays."""

from __future__ import annotations

from datetime import date, timedelta

from sqlmodel import func, select
from support import valid_personnummer
from webkit import fill, forms_of, login, text_of

from sipflow.cases.models import SipCase
from sipflow.clock import now_utc, to_local
from sipflow.people.models import Person

PNR = valid_personnummer(date(1961, 3, 14), serial=274)
WRONG_CHECK_DIGIT = PNR[:-1] + str((int(PNR[-1]) + 1) % 10)
IN_THE_FUTURE = "Anmälan om utskrivningsklar kan inte ligga i framtiden."
UNKNOWN_MUNICIPALITY = "Okänd kommun."
REQUIRED = "Fältet måste fyllas i."


def _error_of(html: str, field_id: str) -> str:
    """The text of the error shown beside the field field_id."""
    start = html.index(f'id="{field_id}-error"')
    return html[start : html.index("</", start)]


def _post(client, **values):
    form = forms_of(text_of(client.get("/cases/new")))["/cases/new"]
    future = (to_local(now_utc()) + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M")
    typed = {
        "workflow_name": "sip_discharge",
        "identifier": PNR,
        "given_name": "Viktoria",
        "family_name": "Ek",
        "home_municipality_code": "0780",
        "utskrivningsklar_at": future,
    }
    return client.post("/cases/new", data=fill(form, **(typed | values)))


def _nothing_started(db_session) -> bool:
    return (
        not db_session.exec(select(func.count()).select_from(SipCase)).one()
        and not db_session.exec(select(func.count()).select_from(Person)).one()
    )


def test_an_empty_name_a_future_discharge_and_an_unknown_municipality_come_together(
    client, parties, db_session
):
    assert login(client, parties.region_user.username).status_code == 302
    response = _post(client, given_name="", home_municipality_code="9999")
    assert response.status_code == 400
    html = text_of(response)
    assert REQUIRED in _error_of(html, "given_name")
    assert IN_THE_FUTURE in _error_of(html, "utskrivningsklar_at")
    assert UNKNOWN_MUNICIPALITY in _error_of(html, "home_municipality_code")
    # The name the form refused has its own error alone; the service's name refusal is not added anywhere.
    assert "Ange personens förnamn och efternamn" not in html
    assert "Ek" in html
    assert _nothing_started(db_session)


def test_a_wrong_check_digit_and_a_future_discharge_come_together(client, parties, db_session):
    assert login(client, parties.region_user.username).status_code == 302
    response = _post(client, identifier=WRONG_CHECK_DIGIT)
    assert response.status_code == 400
    html = text_of(response)
    assert 'id="identifier-error"' in html
    assert IN_THE_FUTURE in _error_of(html, "utskrivningsklar_at")
    assert WRONG_CHECK_DIGIT in html
    assert _nothing_started(db_session)


def test_an_unknown_municipality_and_a_future_discharge_come_together(client, parties, db_session):
    # The form's own checks pass: the service refuses both at once.
    assert login(client, parties.region_user.username).status_code == 302
    response = _post(client, home_municipality_code="9999")
    assert response.status_code == 400
    html = text_of(response)
    assert UNKNOWN_MUNICIPALITY in _error_of(html, "home_municipality_code")
    assert IN_THE_FUTURE in _error_of(html, "utskrivningsklar_at")
    assert _nothing_started(db_session)
