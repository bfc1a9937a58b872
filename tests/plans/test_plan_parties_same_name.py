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
from sipflow.db import unit_of_work
from sipflow.people.models import Organisation, Unit

load_areas()

pytestmark = pytest.mark.usefixtures("frozen_clock")


def test_the_editor_tells_the_two_apart(client, db_session, registry, parties, make_unit, create_case):
    db_session.get(Organisation, parties.outsider.organisation_id).county_code = "07"
    db_session.commit()
    kalmar = make_unit("other", "Försäkringskassan", unit_name="Försäkringskassan Kalmar", county_code=None)
    case = create_case(units=[parties.municipality.id, parties.outsider.id, kalmar.id])
    walk(db_session, registry, parties.region_user, case, now_utc())
    with unit_of_work(db_session):
        db_session.get(Organisation, parties.outsider.organisation_id).active = False
        db_session.get(Unit, parties.outsider.id).active = False
    login(client, parties.region_user.username)
    page = text_of(client.get(f"/cases/{case.uid}/plan"))
    owner = page[page.index('name="efforts-0-organisation_id"') :]
    owners = re.findall(r"<option[^>]*>([^<]+)</option>", owner[: owner.index("</select>")])
    assert "Försäkringskassan (Kronobergs län)" in owners and "Försäkringskassan (hela landet)" in owners
    assert "Försäkringskassan" not in owners
    legends = re.findall(r"<legend>([^<]+)</legend>", page)
    assert "Försäkringskassan (hela landet)" in legends and "Försäkringskassan" not in legends


def test_the_approvals_tell_the_two_apart(client, db_session, registry, parties, make_unit, create_case):
    """Each party's approval of the plan: the approvals page and the case page name the two by place."""
    db_session.get(Organisation, parties.outsider.organisation_id).county_code = "07"
    db_session.commit()
    kalmar = make_unit("other", "Försäkringskassan", unit_name="Försäkringskassan Kalmar", county_code=None)
    case = create_case(units=[parties.municipality.id, parties.outsider.id, kalmar.id])
    now = now_utc()
    walk(db_session, registry, parties.region_user, case, now)
    save(db_session, case, parties.region_user, complete_data(case, parties, now), now)
    support.fire(db_session, registry, parties.region_user, case, "establish_plan", now=now)
    with unit_of_work(db_session):
        db_session.get(Organisation, parties.outsider.organisation_id).active = False
        db_session.get(Unit, parties.outsider.id).active = False
    login(client, parties.region_user.username)
    for url in (f"/cases/{case.uid}/plan/approvals", f"/cases/{case.uid}"):
        page = text_of(client.get(url))
        assert "Försäkringskassan (Kronobergs län)" in page, url
        assert "Försäkringskassan (hela landet)" in page, url
