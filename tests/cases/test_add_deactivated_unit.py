"""A unit an administrator deactivates while the case page is open: adding it is refused at the field by
name, not with the generic "not a valid choice" of an option no longer offered."""

from __future__ import annotations

import pytest
from sqlmodel import select
from webkit import fill, forms_of, login, text_of

from sipflow.cases.models import Participant
from sipflow.people.models import Unit

pytestmark = pytest.mark.db


def test_adding_a_unit_deactivated_meanwhile_names_it_at_the_field(
    client, parties, create_case, make_unit, db_session
):
    case = create_case()
    url = f"/cases/{case.uid}"
    chosen = make_unit("municipality", "Älmhults kommun", unit_name="Hemtjänst Älmhult")
    assert login(client, parties.region_user.username).status_code == 302
    form = forms_of(text_of(client.get(url)))[f"{url}/participants/unit"]
    # Meanwhile an administrator deactivates the unit.
    db_session.get(Unit, chosen.id).active = False
    db_session.commit()

    refused = client.post(f"{url}/participants/unit", data=fill(form, **{"unit-unit_id": str(chosen.id)}))

    assert refused.status_code == 400
    page = text_of(refused)
    assert "Älmhults kommun, Hemtjänst Älmhult är inaktiverad och kan inte läggas till." in page
    assert "Inte ett giltigt val" not in page
    db_session.expire_all()
    added = select(Participant).where(Participant.case_id == case.id, Participant.unit_id == chosen.id)
    assert db_session.exec(added).first() is None


def test_a_unit_id_past_the_id_range_is_refused_at_the_field_not_a_500(client, parties, create_case):
    # A personnummer typed as the unit's id: no row can have it, so no unit is looked up (PostgreSQL refused
    # the number as an integer, a 500).
    case = create_case()
    url = f"/cases/{case.uid}"
    assert login(client, parties.region_user.username).status_code == 302
    form = forms_of(text_of(client.get(url)))[f"{url}/participants/unit"]

    refused = client.post(f"{url}/participants/unit", data=fill(form, **{"unit-unit_id": "197707073214"}))

    assert refused.status_code == 400
    assert "Inte ett giltigt val" in text_of(refused)
