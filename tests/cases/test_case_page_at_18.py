"""The case page of a child's SIP tells staff of the person's 18th birthday, before it and once it passed.

Custody ends at 18: the guardians' consent ends the day before (consent.services.guardians_last_day), their
personal links stop working and the young adult consents themselves. The case page said nothing of it: its
consent card went on listing the guardians' consent, and staff learnt of the turn only when a step was
refused. Its consent card now says the birthday is coming (within consent.services.TURN_NOTICE_DAYS) and,
once passed, to ask the person for their own consent, until one is in force.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from guardiankit import child_sip, consented_by_a_guardian, logged_in
from webkit import fill, forms_of, text_of

pytestmark = pytest.mark.usefixtures("frozen_clock")

# FIXED_NOW is 2 November 2026: the child turns 18 on 10 November; the other child in 2028.
BIRTH = date(2008, 11, 10)
TURNS = "Personen fyller 18 den 2026-11-10."
TURNED = "Personen fyllde 18 den 2026-11-10: vårdnadshavarnas samtycke gäller inte längre."
FURTHER = "Registrera ytterligare samtycke"


def _notice(client, case) -> str:
    """What the case page's consent card says of the person's 18th birthday ("" when nothing)."""
    page = text_of(client.get(f"/cases/{case.uid}"))
    found = re.search(
        r'<div class="alert alert-warning" role="note" id="custody-turn">(.*?)</div>', page, re.S
    )
    return found.group(1) if found else ""


def test_the_case_page_says_the_birthday_comes_and_then_asks_for_the_persons_consent(
    app, db_session, registry, parties, make_person, now, frozen_clock
):
    case = child_sip(db_session, registry, parties, make_person(birth=BIRTH), now)
    younger = child_sip(db_session, registry, parties, make_person(birth=date(2010, 11, 10)), now)
    region = logged_in(app, parties.region_user)
    consented_by_a_guardian(region, db_session, case)
    notice = _notice(region, case)
    assert TURNS in notice and "vårdnadshavarnas personliga länkar slutar gälla" in notice
    # A child turning 18 in two years: nothing yet.
    assert _notice(region, younger) == ""
    frozen_clock.advance(timedelta(days=8))  # 10 November: the birthday
    region = logged_in(app, parties.region_user)
    notice = _notice(region, case)
    assert TURNED in notice and FURTHER in notice
    url = f"/cases/{case.uid}/consent/further"
    form = forms_of(text_of(region.get(url)))[url]
    values = {"consent-given_by": "person", "consent-form": "oral", "consent-valid_until": "2027-11-30"}
    assert region.post(url, data=fill(form, **values)).status_code == 303
    # The young adult's own consent is in force: nothing left to ask.
    assert _notice(region, case) == ""
