"""A stored version names an effort's status and an approval's method as the person's page does: one set of
labels, capitalised as table cells are, in English and in Swedish."""

from __future__ import annotations

import re

import pytest
from sqlmodel import select
from webkit import login, text_of

from sipflow.cases.models import Participant
from sipflow.clock import now_utc
from sipflow.db import unit_of_work
from sipflow.plans.approvals import approve_version
from sipflow.plans.models import PlanVersion


@pytest.fixture(autouse=True)
def _on_the_frozen_clock(frozen_clock):
    return frozen_clock


def cells(html: str) -> set[str]:
    return {" ".join(cell.split()) for cell in re.findall(r"<td(?:\s[^>]*)?>(.*?)</td>", html, re.S)}


@pytest.mark.parametrize(
    ("lang", "labels"),
    [("en", {"Ongoing", "Planned", "At the meeting"}), ("sv", {"Pågår", "Planerad", "På mötet"})],
)
def test_the_version_page_and_the_persons_page_label_alike(
    client, db_session, parties, established, lang, labels
):
    case = established.case
    version = db_session.exec(select(PlanVersion).where(PlanVersion.case_id == case.id)).one()
    region = db_session.exec(
        select(Participant).where(
            Participant.case_id == case.id, Participant.organisation_id == parties.region.organisation_id
        )
    ).first()
    with unit_of_work(db_session):
        approve_version(
            db_session,
            case=case,
            version=version,
            participant=region,
            method="meeting",
            now=now_utc(),
            recorded_by=parties.region_user,
        )
    login(client, parties.region_user.username)
    stored = cells(text_of(client.get(f"/cases/{case.uid}/plan/versions/1?lang={lang}")))
    person = cells(text_of(client.get(f"/cases/{case.uid}/plan/person?lang={lang}")))
    assert labels <= stored, stored
    assert labels - {"At the meeting", "På mötet"} <= person, person
    assert not {"ongoing", "planned", "at the meeting", "pågår", "planerad", "vid mötet"} & stored
