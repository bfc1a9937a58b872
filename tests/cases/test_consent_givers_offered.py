"""The consent forms offer as giving (or declining) the consent only those who may: for a child a guardian,
for a person of age anyone but a guardian (custody ends at 18), otherwise anyone (cases.services
.consent_givers, the rule the consent service refuses by). A form read before the 18th birthday and sent
after is refused with the service's reason, not the select's "not a valid choice"."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from guardiankit import add_guardian, child_sip, logged_in
from webkit import csrf_token, fill, forms_of, text_of

pytestmark = pytest.mark.usefixtures("frozen_clock")

# FIXED_NOW is 2 November 2026.
CHILD = date(2012, 3, 1)
TURNS_18_SOON = date(2008, 11, 10)
ADULT = date(1990, 5, 17)


def _offered(client, case, trigger: str, field: str) -> tuple[list[str], bool]:
    """The givers the case page's form of trigger offers, and whether it offers guardians to tick."""
    page = text_of(client.get(f"/cases/{case.uid}"))
    select = re.search(rf'<select[^>]*name="{trigger}-{field}"[^>]*>(.*?)</select>', page, re.S)
    values = re.findall(r'<option[^>]*value="([^"]*)"', select.group(1))
    return [v for v in values if v], f'name="{trigger}-guardian_participant_ids"' in page


@pytest.mark.parametrize(
    ("workflow", "birth", "givers"),
    [
        ("sip_child", CHILD, ["guardian"]),
        ("sip", ADULT, ["person", "legal_representative"]),
        ("sip_child", ADULT, ["person", "legal_representative"]),
        ("sip", CHILD, ["person", "guardian", "legal_representative"]),
    ],
    ids=["child", "adult", "adult-on-a-childs-sip", "child-on-an-adults-sip"],
)
def test_the_consent_form_offers_those_who_may_give_it(
    app, db_session, registry, parties, make_person, now, workflow, birth, givers
):
    case = child_sip(db_session, registry, parties, make_person(birth=birth), now, workflow=workflow)
    region = logged_in(app, parties.region_user)
    add_guardian(region, case, "Maria Lindqvist")
    offered, ticks = _offered(region, case, "give_consent", "given_by")
    assert offered == givers
    # Guardians to tick only where a guardian may give it.
    assert ticks == ("guardian" in givers)


def test_a_consent_form_read_before_the_18th_birthday_and_sent_after_is_refused_with_the_reason(
    app, db_session, registry, parties, make_person, now, frozen_clock
):
    case = child_sip(db_session, registry, parties, make_person(birth=TURNS_18_SOON), now, workflow="sip")
    region = logged_in(app, parties.region_user)
    add_guardian(region, case, "Maria Lindqvist")
    url = f"/cases/{case.uid}/transitions/give_consent"
    form = forms_of(text_of(region.get(f"/cases/{case.uid}")))[url]
    frozen_clock.advance(timedelta(days=8))  # 10 November: the 18th birthday
    region = logged_in(app, parties.region_user)
    # The form as read before, sent in the new session (its token).
    token = csrf_token(text_of(region.get(f"/cases/{case.uid}")))
    values = {"given_by": "guardian", "form": "written", "csrf_token": token}
    sent = region.post(url, data=fill(form, **{f"give_consent-{k}": v for k, v in values.items()}))
    page = text_of(sent)
    assert sent.status_code == 400
    assert "18 år eller äldre" in page, re.findall(r"<li>.*?</li>|<p[^>]*>.*?</p>", page)
    assert "Inte ett giltigt val" not in page
