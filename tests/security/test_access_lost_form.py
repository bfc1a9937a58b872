"""A form sent for a SIP the user's organisation was taken off meanwhile: refused with why and what was typed
shown back (theirs), nothing of the SIP, and logged as a refusal; an outsider still gets the plain 404."""

from __future__ import annotations

import pytest
import support
from sqlmodel import select
from webkit import csrf_token, login, text_of

from sipflow.cases import services
from sipflow.cases.models import Participant
from sipflow.clock import now_utc
from sipflow.db import unit_of_work
from sipflow.people.models import Person
from sipflow.security import audit
from sipflow.security.audit import AccessLogEntry

pytestmark = pytest.mark.db

OWN_GOALS = "Jag vill kunna bo kvar hemma och gå till jobbet"


def _remove(db_session, registry, case, actor, unit_id):
    row = db_session.exec(
        select(Participant).where(Participant.case_id == case.id, Participant.unit_id == unit_id)
    ).one()
    with unit_of_work(db_session):
        services.remove_participant(
            db_session,
            registry,
            case,
            actor,
            row.id,
            reason="Felaktigt tillagd",
            now=now_utc(),
            expected_version=case.version,
        )


def test_a_form_sent_after_the_organisation_was_removed_says_so_and_keeps_the_text(
    client, db_session, registry, parties, create_case
):
    case = create_case()
    support.fire(db_session, registry, parties.region_user, case, "give_consent", now=now_utc())
    person = db_session.get(Person, case.person_id)
    assert login(client, parties.municipality_user.username).status_code == 302
    page = client.get(f"/cases/{case.uid}")
    assert page.status_code == 200
    token, version = csrf_token(text_of(page)), case.version
    # Meanwhile the region takes the municipality's unit off the SIP.
    _remove(db_session, registry, case, parties.region_user, parties.municipality.id)

    response = client.post(
        f"/cases/{case.uid}/transitions/start_preparation",
        data={
            "csrf_token": token,
            "start_preparation-version": str(version),
            "start_preparation-own_goals": OWN_GOALS,
        },
    )

    assert response.status_code == 403
    page = text_of(response)
    assert "Din organisation deltar inte längre i den här SIP:en" in page
    assert "Det du fyllde i" in page and OWN_GOALS in page
    # Nothing of the SIP itself.
    assert case.reference not in page and person.family_name not in page and person.given_name not in page
    db_session.expire_all()
    rows = db_session.exec(
        select(AccessLogEntry).where(
            AccessLogEntry.user_id == parties.municipality_user.id,
            AccessLogEntry.action == audit.ACCESS_DENIED,
        )
    ).all()
    (row,) = rows
    assert (row.case_id, row.outcome) == (case.id, audit.DENIED)


def test_an_organisation_that_never_took_part_still_gets_not_found(client, parties, create_case):
    case = create_case()
    assert login(client, parties.outsider_user.username).status_code == 302
    token = csrf_token(text_of(client.get("/")))
    response = client.post(
        f"/cases/{case.uid}/transitions/start_preparation",
        data={"csrf_token": token, "start_preparation-own_goals": OWN_GOALS},
    )
    assert response.status_code == 404
    assert OWN_GOALS not in text_of(response)
