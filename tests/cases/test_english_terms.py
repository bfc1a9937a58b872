"""The English UI names the Swedish terms in English (glossed as the catalogue does); Swedish stays."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlmodel import select
from webkit import login, text_of

from sipflow.cases import services
from sipflow.cases.models import Participant
from sipflow.clock import now_utc
from sipflow.db import unit_of_work
from sipflow.workflow.definition import HUVUDANSVARIG

pytestmark = pytest.mark.usefixtures("frozen_clock")


def _participants_table(html: str) -> str:
    return re.search(r'<section class="card" aria-labelledby="h-participants">.*?</section>', html, re.S)[0]


@pytest.fixture
def discharge(db_session, registry, parties, create_case):
    """A SIP at discharge with a närstående taking part, the region holding huvudansvar."""
    case = create_case("sip_discharge", utskrivningsklar_at=now_utc() - timedelta(days=1))
    with unit_of_work(db_session):
        services.add_private_participant(
            db_session,
            registry,
            case,
            kind="narstaende",
            name="Eva Andersson",
            relation="syster",
            email=None,
            phone=None,
            now=now_utc(),
        )
        region = db_session.exec(
            select(Participant).where(
                Participant.case_id == case.id,
                Participant.organisation_id == parties.region.organisation_id,
            )
        ).one()
        region.role = HUVUDANSVARIG
        db_session.add(region)
    return case


@pytest.mark.parametrize(
    ("lang", "words", "not_words"),
    [
        (
            "en",
            ["Relative", "Municipality of registration", "Ready for discharge"],
            ["<td>Närstående</td>", "Folkbokföringskommun<", "Utskrivningsklar<"],
        ),
        (
            "sv",
            ["Närstående", "Folkbokföringskommun", "Utskrivningsklar"],
            ["Relative", "Ready for discharge"],
        ),
    ],
)
def test_the_case_page_names_a_relative_the_registration_municipality_and_discharge_in_its_language(
    client, parties, discharge, lang, words, not_words
):
    assert login(client, parties.region_user.username).status_code == 302
    html = text_of(client.get(f"/cases/{discharge.uid}?lang={lang}"))
    table = _participants_table(html)
    assert words[0] in table
    for word in words[1:]:
        assert word in html
    for word in not_words:
        assert word not in html


@pytest.mark.parametrize(("lang", "badge"), [("en", "Overall responsibility"), ("sv", "huvudansvar")])
def test_my_sips_marks_overall_responsibility_in_the_page_s_language(client, parties, discharge, lang, badge):
    assert login(client, parties.region_user.username).status_code == 302
    listing = text_of(client.get(f"/cases?lang={lang}"))
    row = listing[listing.index(discharge.reference) :][:400]
    assert f">{badge}</span>" in row
