"""Two organisations of one name on one SIP: Kronoberg's own registration of Försäkringskassan, deactivated
when the national Försäkringskassan took the name, and the national one's Kalmar office, where the person's
handläggare moved: the plan editor names each by where it is where an effort's owner or a contact is given,
not "Försäkringskassan" twice (people.labels.organisation_labels, as the consent pages)."""

from __future__ import annotations

import re

import pytest
import support
from plankit import complete_data, save, walk
from webkit import login, text_of

from sipflow.areas import load_areas
from sipflow.clock import now_utc

load_areas()

pytestmark = pytest.mark.usefixtures("frozen_clock")


def test_the_editor_tells_the_two_apart(client, db_session, registry, parties, make_unit, create_case):
    kalmar = support.national_namesake_of_the_outsider(db_session, parties, make_unit)
    case = create_case(units=[parties.municipality.id, parties.outsider.id, kalmar.id])
    walk(db_session, registry, parties.region_user, case, now_utc())
    support.deactivate_with_organisation(db_session, parties.outsider)
    login(client, parties.region_user.username)
    page = text_of(client.get(f"/cases/{case.uid}/plan"))
    owners = support.option_labels(page, "efforts-0-organisation_id")
    assert "Försäkringskassan (Kronobergs län)" in owners and "Försäkringskassan (hela landet)" in owners
    assert "Försäkringskassan" not in owners
    legends = re.findall(r"<legend>([^<]+)</legend>", page)
    assert "Försäkringskassan (hela landet)" in legends and "Försäkringskassan" not in legends


def test_the_approvals_tell_the_two_apart(client, db_session, registry, parties, make_unit, create_case):
    """Each party's approval of the plan: the approvals page and the case page name the two by place."""
    kalmar = support.national_namesake_of_the_outsider(db_session, parties, make_unit)
    case = create_case(units=[parties.municipality.id, parties.outsider.id, kalmar.id])
    now = now_utc()
    walk(db_session, registry, parties.region_user, case, now)
    save(db_session, case, parties.region_user, complete_data(case, parties, now), now)
    support.fire(db_session, registry, parties.region_user, case, "establish_plan", now=now)
    support.deactivate_with_organisation(db_session, parties.outsider)
    login(client, parties.region_user.username)
    for url in (f"/cases/{case.uid}/plan/approvals", f"/cases/{case.uid}"):
        page = text_of(client.get(url))
        assert "Försäkringskassan (Kronobergs län)" in page, url
        assert "Försäkringskassan (hela landet)" in page, url
