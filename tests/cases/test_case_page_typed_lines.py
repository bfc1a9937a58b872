"""What staff typed on several lines in a text area (a consent's information covered, a declined consent's
or a step's reason) keeps its lines on the case page: read as one run-on sentence, a list typed one item a
line loses where each item ends."""

from __future__ import annotations

import re

import pytest
from webkit import login

from sipflow.cases.scripted import fire_scripted, scripted_input
from sipflow.clock import now_utc
from sipflow.db import unit_of_work

pytestmark = pytest.mark.usefixtures("frozen_clock")

SCOPE = "Journaluppgifter om behov av stöd i boendet.\nUppgifter om arbetsförmåga."
REASON = "Vill vänta till efter sommaren.\nHar redan kontakt med socialtjänsten."


def kept_lines(page: str, text: str) -> bool:
    """Whether text stands in the page inside an element whose style keeps its line breaks (.prose)."""
    escaped = re.escape(text)
    return re.search(r'class="[^"]*\bprose\b[^"]*"[^>]*>[^<]*' + escaped, page) is not None


def test_a_consents_information_covered_keeps_its_lines(client, db_session, registry, parties, create_case):
    case = create_case()
    with unit_of_work(db_session):
        data = scripted_input(db_session, case, "consent", now_utc()) | {"information_scope": SCOPE}
        fire_scripted(
            db_session, registry, parties.region_user, case, "give_consent", now=now_utc(), data=data
        )
    login(client, parties.region_user.username)
    page = client.get(f"/cases/{case.uid}").get_data(as_text=True)
    assert SCOPE in page
    assert kept_lines(page, SCOPE)


def test_a_declined_consents_reason_keeps_its_lines(client, db_session, registry, parties, create_case):
    case = create_case()
    with unit_of_work(db_session):
        data = scripted_input(db_session, case, "consent_declined", now_utc()) | {"reason": REASON}
        fire_scripted(
            db_session, registry, parties.region_user, case, "decline_consent", now=now_utc(), data=data
        )
    login(client, parties.region_user.username)
    page = client.get(f"/cases/{case.uid}").get_data(as_text=True)
    assert REASON in page
    assert kept_lines(page, REASON)
