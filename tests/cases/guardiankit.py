"""Steps of a child's SIP as a user takes them through the case page: guardians added, a step's form sent."""

from __future__ import annotations

import re

from sqlmodel import select
from webkit import fill, forms_of, text_of

from sipflow.cases.models import Participant


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
    add_guardian(client, case, "Maria Lindqvist")
    ids = guardian_ids(db_session, case)
    given = step(
        client,
        case,
        "give_consent",
        given_by="guardian",
        form="written",
        guardian_participant_ids=str(ids["Maria Lindqvist"]),
    )
    assert given.status_code == 303
    add_guardian(client, case, "Jonas Lindqvist")
    return case


def field_errors(html: str, field: str) -> str:
    """The errors shown beside field (the page must show some)."""
    found = re.search(rf'<ul class="field-errors" id="{field}-error">(.*?)</ul>', html, re.S)
    assert found, html
    return found.group(1)
