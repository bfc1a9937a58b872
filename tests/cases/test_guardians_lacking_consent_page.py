"""A child's SIP that asks every guardian's consent (sip_child version 2) names on the case page, where the
consent is shown, the guardians who have not consented: staff can ask them before a step is refused."""

from __future__ import annotations

import logging
import re

import pytest
from guardiankit import add_guardian, consented_then_second_guardian, guardian_ids, step
from webkit import fill, forms_of, login, text_of

from sipflow.cases.models import SipCase
from sipflow.db import unit_of_work

pytestmark = pytest.mark.usefixtures("frozen_clock")

NOTICE_ID = 'id="guardians-lacking-consent"'


@pytest.fixture
def as_region(client, parties):
    assert login(client, parties.region_user.username).status_code == 302
    return client


def _consent_section(html: str) -> str:
    start = html.index('aria-labelledby="h-consent"')
    return html[start : html.index("</section>", start)]


def _notice(html: str) -> str:
    """The text of the case page's notice of the guardians who have not consented (it must be there)."""
    section = _consent_section(html)
    assert NOTICE_ID in section, section
    start = section.index(NOTICE_ID)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", section[start : section.index("</div>", start)]))


def test_the_case_page_names_the_guardian_who_joined_after_the_consent(
    as_region, create_case, db_session, caplog
):
    case = consented_then_second_guardian(as_region, create_case, db_session)
    caplog.clear()
    with caplog.at_level(logging.DEBUG):
        page = as_region.get(f"/cases/{case.uid}")
    assert page.status_code == 200
    notice = _notice(text_of(page))
    assert "Vårdnadshavare som inte har samtyckt: Jonas Lindqvist." in notice
    assert "Maria Lindqvist" not in notice
    # The way on is on the same card: the initiator may record a further consent.
    assert "”Registrera ytterligare samtycke” nedan" in notice
    # Names are for the page only: not in a log line, nor in any address of it.
    assert not [r for r in caplog.records if "Lindqvist" in r.getMessage()]
    assert not [h for h in re.findall(r'href="([^"]*)"', text_of(page)) if "Lindqvist" in h]

    # The step refused for it names the same guardian, as the page did before it was tried.
    refused = step(as_region, case, "start_preparation", child_view="Jag vill gå kvar i min klass.")
    assert refused.status_code == 409
    assert "Har inte samtyckt: Jonas Lindqvist." in text_of(refused)


def test_the_notice_goes_once_the_guardian_has_consented(as_region, create_case, db_session):
    case = consented_then_second_guardian(as_region, create_case, db_session)
    ids = guardian_ids(db_session, case)
    url = f"/cases/{case.uid}/consent/further"
    form = forms_of(text_of(as_region.get(url)))[url]
    sent = fill(
        form,
        **{
            "consent-given_by": "guardian",
            "consent-form": "written",
            "consent-guardian_participant_ids": str(ids["Jonas Lindqvist"]),
        },
    )
    assert as_region.post(url, data=sent).status_code == 303
    html = text_of(as_region.get(f"/cases/{case.uid}"))
    assert NOTICE_ID not in html
    # And the step the guardian's consent held back goes on.
    taken = step(as_region, case, "start_preparation", child_view="Jag vill gå kvar i min klass.")
    assert taken.status_code == 303, text_of(taken)


def test_before_the_first_consent_every_guardian_is_named_with_the_way_to_tick_them(
    as_region, create_case, db_session
):
    case = create_case("sip_child")
    for name in ("Maria Lindqvist", "Jonas Lindqvist"):
        add_guardian(as_region, case, name)
    notice = _notice(text_of(as_region.get(f"/cases/{case.uid}")))
    assert "Vårdnadshavare som inte har samtyckt: Maria Lindqvist, Jonas Lindqvist." in notice
    assert "”Vårdnadshavare som samtycker”" in notice


def test_a_guardians_name_in_the_notice_is_text_never_markup(as_region, create_case, db_session):
    case = create_case("sip_child")
    add_guardian(as_region, case, '<b id="trap">Maria</b>')
    html = text_of(as_region.get(f"/cases/{case.uid}"))
    section = _consent_section(html)
    assert '<b id="trap">' not in section
    assert "&lt;b id=" in section


def test_a_sip_without_guardians_taking_part_shows_no_notice(as_region, create_case):
    case = create_case("sip_child")
    assert NOTICE_ID not in text_of(as_region.get(f"/cases/{case.uid}"))


def test_a_sip_on_version_1_which_asks_no_later_guardian_shows_no_notice(as_region, create_case, db_session):
    # Version 1 asks the guardians' consent at the consent step only: a guardian who joined after it holds
    # nothing back there, so the page names no one.
    case = consented_then_second_guardian(as_region, create_case, db_session)
    with unit_of_work(db_session):
        db_session.get(SipCase, case.id).workflow_version = 1
    html = text_of(as_region.get(f"/cases/{case.uid}"))
    assert "Jonas Lindqvist" in html
    assert NOTICE_ID not in html
