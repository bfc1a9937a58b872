"""The plan editor of an organisation that hands huvudansvar over while its user writes: the save is refused
with the reason (who holds it now) and what was typed is shown to copy, not a bare 403."""

from __future__ import annotations

import pytest
from plankit import give_huvudansvar
from webkit import fill, forms_of, login, text_of

from sipflow.clock import now_utc
from sipflow.plans.services import find_plan

pytestmark = [pytest.mark.usefixtures("frozen_clock"), pytest.mark.db]


def test_saving_after_huvudansvar_moved_meanwhile_keeps_the_text_and_names_the_new_holder(
    client, db_session, parties, held
):
    region, municipality = parties.region.organisation_id, parties.municipality.organisation_id
    give_huvudansvar(db_session, held, parties.region_user, municipality, now_utc())
    assert login(client, parties.municipality_user.username).status_code == 302
    html = text_of(client.get(f"/cases/{held.uid}/plan"))
    typed = fill(forms_of(html)[f"/cases/{held.uid}/plan"], action="save", needs="Sara skrev detta länge")
    # Meanwhile the initiating region takes huvudansvar back.
    give_huvudansvar(db_session, held, parties.region_user, region, now_utc(), reason="Regionen samordnar")

    response = client.post(f"/cases/{held.uid}/plan", data=typed)

    assert response.status_code == 409
    page = text_of(response)
    assert "Huvudansvaret flyttades till Region Kronoberg medan du arbetade" in page
    assert "Det du fyllde i" in page
    assert "Sara skrev detta länge" in page
    assert "Åtkomst nekad" not in page
    db_session.expire_all()
    plan = find_plan(db_session, held)
    assert plan is None or plan.needs != "Sara skrev detta länge"
