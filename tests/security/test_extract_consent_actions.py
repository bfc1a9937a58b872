"""The loggutdrag of the consent pages' forms (tester): a withdrawal for one organisation is named as one,
not as a further consent, and a form the page refused is an attempt that saved nothing, not a consent."""

from __future__ import annotations

import csv
import io

import pytest
from sqlmodel import select
from webkit import FreshContextClient, fill, forms_of, login, text_of

from sipflow.security import audit
from sipflow.security.audit import AccessLogEntry
from sipflow.security.extract import access_extract_csv

pytestmark = pytest.mark.usefixtures("frozen_clock")


@pytest.fixture
def case(joined_later):
    """A SIP whose consent covers region and municipality; the school joined after it was recorded."""
    return joined_later


def _client(app, user) -> FreshContextClient:
    client = FreshContextClient(app, app.response_class, use_cookies=True)
    assert login(client, user.username).status_code == 302
    return client


def _actions(db_session, case, person_id) -> list[tuple[str, str]]:
    """(Åtgärd, Utfall) of the extract's rows about the case's POSTs (its start and the reads left out)."""
    data = access_extract_csv(db_session, person_id)
    rows = list(csv.reader(io.StringIO(data[3:].decode("utf-8")), delimiter=";"))[1:]
    return [(row[3], row[6]) for row in rows if row[3] not in ("Läste SIP-ärendet", "Startade SIP-ärendet")]


def test_the_consent_pages_forms_are_named_by_what_they_did_or_tried(app, db_session, parties, case):
    region = _client(app, parties.region_user)
    further, withdrawal = (
        f"/cases/{case.uid}/consent/further",
        f"/cases/{case.uid}/consent/withdraw-organisation",
    )
    # A further consent refused (no form of consent chosen), then recorded.
    form = forms_of(text_of(region.get(further)))[further]
    ids = [str(parties.region.organisation_id), str(parties.municipality.organisation_id)]
    values = {"consent-given_by": "person", "consent-organisation_ids": ids}
    assert region.post(further, data=fill(form, **values)).status_code == 400
    assert region.post(further, data=fill(form, **values, **{"consent-form": "oral"})).status_code == 303
    # A withdrawal refused (no organisation chosen), then recorded.
    form = forms_of(text_of(region.get(withdrawal)))[withdrawal]
    assert region.post(withdrawal, data=fill(form, reason="Ringde")).status_code == 400
    chosen = fill(form, organisation_id=str(parties.municipality.organisation_id))
    assert region.post(withdrawal, data=chosen).status_code == 303

    assert _actions(db_session, case, case.person_id) == [
        (
            "Försökte registrera ytterligare samtycke i SIP-ärendet (inget sparades)",
            "tillåten, inget sparades",
        ),
        ("Registrerade ytterligare samtycke i SIP-ärendet", "tillåten"),
        (
            "Försökte registrera att samtycket återkallades för en organisation (inget sparades)",
            "tillåten, inget sparades",
        ),
        ("Registrerade att samtycket återkallades för en organisation", "tillåten"),
    ]
    logged = db_session.exec(
        select(AccessLogEntry.action, AccessLogEntry.outcome)
        .where(
            AccessLogEntry.case_id == case.id,
            AccessLogEntry.action.in_([audit.CASE_CONSENT, audit.CASE_CONSENT_WITHDRAW_ORGANISATION]),
        )
        .order_by(AccessLogEntry.seq)
    ).all()
    assert [tuple(row) for row in logged] == [
        (audit.CASE_CONSENT, audit.NOT_SAVED),
        (audit.CASE_CONSENT, audit.ALLOWED),
        (audit.CASE_CONSENT_WITHDRAW_ORGANISATION, audit.NOT_SAVED),
        (audit.CASE_CONSENT_WITHDRAW_ORGANISATION, audit.ALLOWED),
    ]


def test_a_stale_form_is_an_attempt_too(app, db_session, parties, case):
    region = _client(app, parties.region_user)
    withdrawal = f"/cases/{case.uid}/consent/withdraw-organisation"
    form = forms_of(text_of(region.get(withdrawal)))[withdrawal]
    # Someone else changes the SIP meanwhile (a further consent), so the form is stale.
    further = f"/cases/{case.uid}/consent/further"
    values = {"consent-given_by": "person", "consent-form": "oral"}
    other = _client(app, parties.region_user)
    other_form = forms_of(text_of(other.get(further)))[further]
    assert other.post(further, data=fill(other_form, **values)).status_code == 303
    chosen = fill(form, organisation_id=str(parties.municipality.organisation_id))
    assert region.post(withdrawal, data=chosen).status_code == 409
    assert _actions(db_session, case, case.person_id)[-1] == (
        "Försökte registrera att samtycket återkallades för en organisation (inget sparades)",
        "tillåten, inget sparades",
    )
