"""Försäkringskassan registered in two counties (each county's administrator adds it) and taking part in one
SIP twice over, after the person's handläggare moved from the Växjö office to the Kalmar one: the plan
editor names each by its county where an effort's owner or a contact is given, not "Försäkringskassan"
twice (people.labels.organisation_labels, as the consent pages)."""

from __future__ import annotations

import re

import pytest
from plankit import walk
from webkit import login, text_of

from sipflow.areas import load_areas
from sipflow.clock import now_utc
from sipflow.people.models import Organisation

load_areas()

pytestmark = pytest.mark.usefixtures("frozen_clock")


def test_the_editor_tells_the_two_apart(client, db_session, registry, parties, make_unit, create_case):
    db_session.get(Organisation, parties.outsider.organisation_id).county_code = "07"
    db_session.commit()
    kalmar = make_unit("other", "Försäkringskassan", unit_name="Försäkringskassan Kalmar", county_code="08")
    case = create_case(units=[parties.municipality.id, parties.outsider.id, kalmar.id])
    walk(db_session, registry, parties.region_user, case, now_utc())
    login(client, parties.region_user.username)
    page = text_of(client.get(f"/cases/{case.uid}/plan"))
    owner = page[page.index('name="efforts-0-organisation_id"') :]
    owners = re.findall(r"<option[^>]*>([^<]+)</option>", owner[: owner.index("</select>")])
    assert "Försäkringskassan (Kronobergs län)" in owners and "Försäkringskassan (Kalmar län)" in owners
    assert "Försäkringskassan" not in owners
    legends = re.findall(r"<legend>([^<]+)</legend>", page)
    assert "Försäkringskassan (Kalmar län)" in legends and "Försäkringskassan" not in legends
