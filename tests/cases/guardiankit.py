"""Steps of a child's SIP as a user takes them through the case page: guardians added, a step's form sent."""

from __future__ import annotations

import re

from sqlmodel import select
from support import new_case
from webkit import FreshContextClient, fill, forms_of, login, text_of

from sipflow.cases.models import Participant


def logged_in(app, user):
    """A client of its own, logged in as user (a day later, a fresh session as a user would have)."""
    client = FreshContextClient(app, app.response_class, use_cookies=True)
    assert login(client, user.username).status_code == 302
    return client


def child_sip(db_session, registry, parties, person, now, workflow="sip_child"):
    """A child's SIP (or one of workflow) of the region's user for person, with the municipality and the
    school; committed."""
    case = new_case(
        db_session,
        registry,
        parties.region_user,
        workflow=workflow,
        person=person,
        unit_ids=[parties.municipality.id, parties.school.id],
        now=now,
    )
    db_session.commit()
    return case


def consented_by_a_guardian(client, db_session, case, name="Maria Lindqvist"):
    """Add a guardian named name and give the SIP's consent as theirs, through the case page."""
    add_guardian(client, case, name)
    given = step(
        client,
        case,
        "give_consent",
        given_by="guardian",
        form="written",
        guardian_participant_ids=list(map(str, guardian_ids(db_session, case).values())),
    )
    assert given.status_code == 303, text_of(given)


def add_guardian(client, case, name):
    """Add a guardian named name through the case page's private-participant form."""
    url = f"/cases/{case.uid}/participants/private"
    form = forms_of(text_of(client.get(f"/cases/{case.uid}")))[url]
    added = client.post(url, data=fill(form, **{"private-kind": "guardian", "private-name": name}))
    assert added.status_code == 303


def guardian_ids(db_session, case) -> dict[str, int]:
    """The case's guardians' participant ids by name."""
    rows = db_session.exec(select(Participant).where(Participant.case_id == case.id)).all()
    return {p.name: p.id for p in rows if p.kind == "guardian"}


def step(client, case, trigger, **values):
    """Send the case page's form of trigger with values (field names without the trigger's prefix)."""
    url = f"/cases/{case.uid}/transitions/{trigger}"
    form = forms_of(text_of(client.get(f"/cases/{case.uid}")))[url]
    return client.post(url, data=fill(form, **{f"{trigger}-{k}": v for k, v in values.items()}))


def consented_then_second_guardian(client, create_case, db_session):
    """A child's SIP (v2: every guardian's consent) whose consent Maria gave; Jonas joined as a guardian
    after it, so the consent in force does not name him."""
    case = create_case("sip_child")
    assert case.workflow_version == 2
    consented_by_a_guardian(client, db_session, case, "Maria Lindqvist")
    add_guardian(client, case, "Jonas Lindqvist")
    return case


def field_errors(html: str, field: str) -> str:
    """The errors shown beside field (the page must show some)."""
    found = re.search(rf'<ul class="field-errors" id="{field}-error">(.*?)</ul>', html, re.S)
    assert found, html
    return found.group(1)
